import { describe, expect, it } from "vitest";
import { field, terminalSafe } from "../../../cli/terminal";

describe("terminalSafe", () => {
  it("escapes an SGR colour sequence, an OSC 8 hyperlink, BEL and a one-character C1 CSI", () => {
    expect(terminalSafe("\u001b[31mred\u001b[0m")).toBe("\\u001b[31mred\\u001b[0m");
    expect(terminalSafe("\u001b]8;;https://evil.example/\u0007click\u001b]8;;\u0007")).toBe("\\u001b]8;;https://evil.example/\\u0007click\\u001b]8;;\\u0007");
    expect(terminalSafe("ring\u0007")).toBe("ring\\u0007");
    expect(terminalSafe("\u009b2J")).toBe("\\u009b2J");
    expect(terminalSafe("\u009d52;c;aGk=\u009c")).toBe("\\u009d52;c;aGk=\\u009c"); // C1 OSC 52 (clipboard) and ST
  });

  it("escapes DEL, every C0 and C1 control, and bidi overrides and isolates", () => {
    for (let c = 0; c <= 0x1f; c++) expect(terminalSafe(String.fromCharCode(c))).toBe(`\\u${c.toString(16).padStart(4, "0")}`);
    for (let c = 0x7f; c <= 0x9f; c++) expect(terminalSafe(String.fromCharCode(c))).toBe(`\\u${c.toString(16).padStart(4, "0")}`);
    for (const c of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x2028, 0x2029]) {
      expect(terminalSafe(String.fromCharCode(c))).toBe(`\\u${c.toString(16)}`);
    }
  });

  it("leaves printable text alone, including non-Latin scripts and emoji", () => {
    const text = "tool.call  denied  not_granted  user:zoë@example.com  Überblick 日本語 عربى 🙂 ~!@#$%^&*()";
    expect(terminalSafe(text)).toBe(text);
  });

  it("keeps line ends only when asked, and never a lone carriage return", () => {
    expect(terminalSafe("a\nb\r\nc")).toBe("a\\u000ab\\u000d\\u000ac");
    expect(terminalSafe("a\nb\r\nc\rd\te", { keepNewlines: true })).toBe("a\nb\r\nc\\u000dd\\u0009e");
  });

  it("keeps JSON lines lossless: an escaped line parses to the same value", () => {
    const value = { tool: "\u009b31m\u202egnp.exe", detail: "\u001b]8;;x\u0007" };
    const line = JSON.stringify(value);
    expect(JSON.parse(terminalSafe(line, { keepNewlines: true }))).toEqual(value);
    expect(terminalSafe(line, { keepNewlines: true })).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
  });

  it("shows a one-line field: strings escaped, other values as JSON, nothing for null", () => {
    expect(field("x\ny")).toBe("x\\u000ay");
    expect(field({ a: "\u001b" })).toBe('{"a":"\\u001b"}');
    expect(field(null)).toBe("");
    expect(field(3)).toBe("3");
  });
});
