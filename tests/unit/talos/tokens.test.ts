// The conversions from the random characters the Pulumi layer draws (random.RandomPassword
// results) to the bundle's formats: tokens, and 32 bytes as standard or URL-safe base64.
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
    HEX_ALPHABET, TOKEN_ALPHABET, TOKEN_ID_LENGTH, TOKEN_PATTERN, TOKEN_SECRET_LENGTH,
    bytesFromHex, decodeStdBase64, decodeUrlBase64, stdBase64FromHex, tokenFromCharacters, urlBase64FromHex,
} from "../../../talos/tokens";

const tokenCharacters = fc.string({ unit: fc.constantFrom(...TOKEN_ALPHABET), minLength: 22, maxLength: 22 });
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((a) => Buffer.from(a));

/** What `fn` throws, as text. */
function messageOf(fn: () => unknown): string {
    try {
        fn();
    } catch (err) {
        return err instanceof Error ? err.message : String(err);
    }
    throw new Error("expected it to throw");
}

describe("the alphabets", () => {
    it("tokens draw from 36 distinct characters, each allowed by TOKEN_PATTERN's parts", () => {
        expect(new Set(TOKEN_ALPHABET).size).toBe(36);
        expect(TOKEN_ID_LENGTH + TOKEN_SECRET_LENGTH).toBe(22);
        expect(`${TOKEN_ALPHABET.slice(0, 6)}.${TOKEN_ALPHABET.slice(6, 22)}`).toMatch(TOKEN_PATTERN);
        expect(`${TOKEN_ALPHABET.slice(20, 26)}.${TOKEN_ALPHABET.slice(20, 36)}`).toMatch(TOKEN_PATTERN);
    });

    it("hex digits are the 16 distinct characters Node writes for bytes", () => {
        expect(new Set(HEX_ALPHABET).size).toBe(16);
        const written = new Set(Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString("hex"));
        expect([...written].sort().join("")).toBe(HEX_ALPHABET);
    });
});

describe("tokenFromCharacters", () => {
    it("puts the dot after the sixth of 22 characters", () => {
        expect(tokenFromCharacters("t", "abcdef0123456789ghijkl")).toBe("abcdef.0123456789ghijkl");
        fc.assert(fc.property(tokenCharacters, (chars) => {
            const token = tokenFromCharacters("t", chars);
            return TOKEN_PATTERN.test(token) && token.replace(".", "") === chars;
        }));
    });

    it.each([
        ["21 characters", "abcdef0123456789ghijk", "got 21 characters"],
        ["23 characters", "abcdef0123456789ghijklm", "got 23 characters"],
        ["upper case", "ABCDEF0123456789ghijkl", "got 22 characters, some outside that set"],
        ["a dot already", "abcdef.123456789ghijkl", "got 22 characters, some outside that set"],
    ])("refuses %s, naming the field and never the value", (_, chars, got) => {
        const message = messageOf(() => tokenFromCharacters("trustdInfo.token", chars));
        expect(message).toBe(`trustdInfo.token: expected 22 characters of [0-9a-z], ${got}`);
        expect(message).not.toContain(chars.slice(0, 6));
    });
});

describe("bytesFromHex and the base64 forms", () => {
    it("reads 64 lower-case hex digits as the 32 bytes they spell", () => {
        fc.assert(fc.property(bytes32, (bytes) => bytesFromHex("x", bytes.toString("hex"), 32).equals(bytes)));
    });

    it("cluster.id is URL-safe base64 with Go's padding, cluster.secret and secretbox standard base64", () => {
        // 0xfb 0xff… encodes to "+/" in standard base64: the characters the two forms write differently.
        const hex = `fbff${"fb".repeat(29)}ff`;
        expect(stdBase64FromHex("x", hex, 32)).toBe(Buffer.from(hex, "hex").toString("base64"));
        expect(stdBase64FromHex("x", hex, 32)).toMatch(/^\+\/.*=$/);
        expect(urlBase64FromHex("x", hex, 32)).toMatch(/^-_[A-Za-z0-9_-]{41}=$/);
        fc.assert(fc.property(bytes32, (bytes) => {
            const hexDigits = bytes.toString("hex");
            const url = urlBase64FromHex("x", hexDigits, 32);
            const std = stdBase64FromHex("x", hexDigits, 32);
            const urlOnly = /[-_]/.test(url);
            return url.length === 44 && std.length === 44
                && decodeUrlBase64(url)!.equals(bytes) && decodeStdBase64(std)!.equals(bytes)
                && (decodeStdBase64(url) === undefined) === urlOnly;
        }));
    });

    it.each([
        ["63 digits", randomBytes(32).toString("hex").slice(1), "got 63 characters"],
        ["66 digits", randomBytes(33).toString("hex"), "got 66 characters"],
        ["upper case", randomBytes(32).toString("hex").toUpperCase().replace(/^./, "A"), "got 64 characters, some outside that set"],
        ["a non-hex letter", `g${randomBytes(32).toString("hex").slice(1)}`, "got 64 characters, some outside that set"],
        ["base64", randomBytes(32).toString("base64").padEnd(64, "A"), "got 64 characters, some outside that set"],
    ])("refuses %s, naming the field and never the value", (_, hex, got) => {
        for (const convert of [bytesFromHex, stdBase64FromHex, urlBase64FromHex]) {
            const message = messageOf(() => convert("cluster.secret", hex, 32));
            expect(message).toBe(`cluster.secret: expected 64 lower-case hex digits (32 bytes), ${got}`);
            expect(message).not.toContain(hex.slice(0, 8));
        }
    });
});
