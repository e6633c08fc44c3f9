import { describe, expect, it } from "vitest";
import {
  guessField,
  guessMapping,
  mappingFor,
  mappingProblems,
  normalizeHeader,
  rowsAsMapped,
  sendableMapping,
} from "./columns";

describe("header guessing", () => {
  it("normalizes as the server does", () => {
    expect(normalizeHeader("  Product_Name ")).toBe("product name");
    expect(normalizeHeader("IS-ACTIVE")).toBe("is active");
    expect(normalizeHeader("item   __code")).toBe("item code");
  });

  it("knows every alias of every field, and ignores the rest", () => {
    const cases: [string, string | null][] = [
      ["SKU", "sku"],
      ["Item Code", "sku"],
      ["part-number", "sku"],
      ["Article Number", "sku"],
      ["Product Name", "name"],
      ["title", "name"],
      ["Product_Title", "name"],
      ["Desc", "description"],
      ["details", "description"],
      ["Published", "active"],
      ["is_active", "active"],
      ["Colour", null],
      ["skus", null],
    ];
    for (const [cell, field] of cases) expect([cell, guessField(cell)]).toEqual([cell, field]);
  });

  it("maps each column, keeping its name exactly as in the header", () => {
    expect(guessMapping([" Item Code", "Product Name", "Colour"])).toEqual({
      " Item Code": "sku",
      "Product Name": "name",
      Colour: null,
    });
  });

  it("takes a saved mapping where it names a column and guesses the others", () => {
    expect(
      mappingFor(["code", "name", "notes"], { code: "sku", notes: "description", gone: "active" }),
    ).toEqual({ code: "sku", name: "name", notes: "description" });
    expect(mappingFor(["sku", "name"], { sku: null })).toEqual({ sku: null, name: "name" });
  });

  it("names columns in their normal form too, and guesses only the fields left open", () => {
    expect(
      mappingFor(["item_code", "Title", "Desc", "Notes"], {
        "Item Code": "sku",
        notes: "description",
      }),
    ).toEqual({
      item_code: "sku",
      Title: "name",
      Desc: null,
      Notes: "description",
    });
  });

  it("leaves out the columns without a name when sending", () => {
    expect(sendableMapping({ sku: "sku", " ": null, "": null })).toEqual({ sku: "sku" });
  });
});

describe("mappingProblems", () => {
  it("names the columns that fill one field twice", () => {
    const columns = ["sku", "Item Code", "name"];
    expect(mappingProblems(columns, guessMapping(columns))).toEqual([
      '"sku" and "Item Code" are both mapped to sku: choose one of them.',
    ]);
  });

  it("asks for sku and name", () => {
    expect(mappingProblems(["a", "b"], { a: null, b: "description" })).toEqual([
      "No column is mapped to sku: choose the column that holds it.",
      "No column is mapped to name: choose the column that holds it.",
    ]);
    expect(mappingProblems(["a", "b"], { a: "sku", b: "name" })).toEqual([]);
  });
});

describe("rowsAsMapped", () => {
  it("shows the rows as the fields they fill", () => {
    const columns = ["Product Name", "Colour", "Item Code"];
    const mapping = guessMapping(columns);
    expect(rowsAsMapped(columns, mapping, [["Chair ", "red", "A-1"], ["Desk"]])).toEqual([
      { sku: "A-1", name: "Chair", description: "", active: "" },
      { sku: "", name: "Desk", description: "", active: "" },
    ]);
  });
});
