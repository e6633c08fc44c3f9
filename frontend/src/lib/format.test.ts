import { describe, expect, it } from "vitest";
import { formatBytes, formatNumber, plural } from "./format";

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
});
