import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, formatNumber, formatRate, plural } from "./format";

describe("format", () => {
  it("says sizes in bytes and their multiples", () => {
    expect(formatBytes(1)).toBe("1 byte");
    expect(formatBytes(512)).toBe("512 bytes");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(5 * 1024 * 1024)).toBe("5.0 MB");
  });

  it("groups thousands", () => {
    expect(formatNumber(466693)).toBe("466,693");
    expect(formatNumber(null)).toBe("–");
    expect(plural(1, "product")).toBe("1 product");
    expect(plural(1000, "product")).toBe("1,000 products");
  });

  it("says durations in the units a person reads", () => {
    expect(formatDuration(0)).toBe("under 0.1 s");
    expect(formatDuration(0.42)).toBe("0.4 s");
    expect(formatDuration(4)).toBe("4 s");
    expect(formatDuration(45.4)).toBe("45 s");
    expect(formatDuration(60)).toBe("1 min");
    expect(formatDuration(125)).toBe("2 min 5 s");
    expect(formatDuration(3780)).toBe("1 h 3 min");
    expect(formatDuration(7200)).toBe("2 h");
    expect(formatDuration(null)).toBe("–");
    expect(formatRate(12345.6)).toBe("12,346 rows/s");
  });
});
