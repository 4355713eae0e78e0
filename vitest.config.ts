import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["tests/**/*.test.ts"],
        // Pulumi's runtime keeps global state per process; each file gets a fresh one.
        isolate: true,
        testTimeout: 30_000,
        hookTimeout: 60_000,
    },
});
