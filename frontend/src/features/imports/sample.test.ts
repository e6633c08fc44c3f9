import { describe, expect, it, vi } from "vitest";
import { parseSample, readSample } from "./sample";

async function gzip(text: string): Promise<ArrayBuffer> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Response(stream).arrayBuffer();
}

describe("readSample", () => {
  it("reads the header and the first five rows, quotes and all", async () => {
    const lines = ["sku,name,description", 'A-1,"Chair, oak","two\nlines"'];
    for (let row = 2; row <= 9; row += 1) lines.push(`A-${row},Item ${row},`);
    const file = new File([lines.join("\r\n")], "catalog.csv");
    const sample = await readSample(file);
    expect(sample.columns).toEqual(["sku", "name", "description"]);
    expect(sample.rows).toHaveLength(5);
    expect(sample.rows[0]).toEqual(["A-1", "Chair, oak", "two\nlines"]);
    expect(sample.rows[4]).toEqual(["A-5", "Item 5", ""]);
  });

  it("reads only the start of a file, leaving out the line the limit cuts", async () => {
    const file = new File(
      ["\uFEFFItem Code,Product Name\nA-1,Chair\nA-2,Desk with a long name\n"],
      "a.csv",
    );
    const slice = vi.spyOn(file, "slice");
    const sample = await readSample(file, 40);
    expect(slice).toHaveBeenCalledWith(0, 40);
    expect(sample).toEqual({ columns: ["Item Code", "Product Name"], rows: [["A-1", "Chair"]] });
  });

  it("decompresses the start of a .csv.gz", async () => {
    const file = new File([await gzip("sku,name\nA-1,Chair\n")], "catalog.CSV.GZ");
    expect(await readSample(file)).toEqual({ columns: ["sku", "name"], rows: [["A-1", "Chair"]] });
  });

  it("says so when a .gz is not one", async () => {
    const file = new File(["sku,name\n"], "catalog.csv.gz");
    await expect(readSample(file)).rejects.toThrow("The file is not a readable gzip file.");
  });

  it("says so when there is nothing to show", () => {
    expect(() => parseSample("\n", true)).toThrow("The file is empty.");
    expect(() => parseSample("a,b,c", false)).toThrow("The header row is too long");
  });
});
