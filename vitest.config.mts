import { defineConfig } from "vitest/config";

// CI asks for a JSON report beside the console one, to print its closing summary line.
const json = process.env.VITEST_JSON;

export default defineConfig({
    test: {
        include: ["tests/**/*.test.ts"],
        // Pulumi's runtime keeps global state per process: each test file gets a fresh one.
        isolate: true,
        testTimeout: 30_000,
        hookTimeout: 60_000,
        reporters: json ? ["default", "json"] : ["default"],
        outputFile: json ? { json } : undefined,
    },
});
