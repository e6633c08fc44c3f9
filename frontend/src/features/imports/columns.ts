import type { Mapping, ProductField } from "./types";

export const FIELDS: ProductField[] = ["sku", "name", "description", "active"];
export const REQUIRED_FIELDS: ProductField[] = ["sku", "name"];

/**
 * The header names the server takes for each field when no mapping says otherwise (its header
 * guessing); the dashboard's guess must agree with it, so that what the form shows is what an
 * import without a mapping would do.
 */
const ALIASES: Record<ProductField, string[]> = {
  sku: [
    "sku",
    "product sku",
    "item sku",
    "sku code",
    "product code",
    "item code",
    "variant sku",
    "part number",
    "article number",
  ],
  name: ["name", "product name", "item name", "title", "product title"],
  description: ["description", "product description", "item description", "desc", "details"],
  active: ["active", "is active", "enabled", "published"],
};

const FIELD_OF_ALIAS = new Map<string, ProductField>(
  FIELDS.flatMap((field) => ALIASES[field].map((alias) => [alias, field] as const)),
);

/** " Product_Name " -> "product name": trimmed, lower case, `_` and `-` as spaces, runs of one. */
export function normalizeHeader(cell: string): string {
  return cell.trim().toLowerCase().replace(/[_-]/g, " ").replace(/\s+/g, " ").trim();
}

/** The field a header cell names, or null to ignore the column. */
export function guessField(cell: string): ProductField | null {
  return FIELD_OF_ALIAS.get(normalizeHeader(cell)) ?? null;
}

/** Every column of a header with its guessed field. */
export function guessMapping(columns: string[]): Mapping {
  return Object.fromEntries(columns.map((column) => [column, guessField(column)]));
}

/**
 * `columns` read with a saved mapping as the server reads one: a column the mapping names (as
 * the header spells it, or in the same normal form) takes its field; the others are guessed, but
 * only for the fields the mapping left open.
 */
export function mappingFor(columns: string[], saved: Mapping = {}): Mapping {
  const savedByName = new Map<string, ProductField | null>();
  for (const [column, field] of Object.entries(saved)) {
    savedByName.set(column.trim(), field);
    if (!savedByName.has(normalizeHeader(column))) savedByName.set(normalizeHeader(column), field);
  }
  const named = (column: string) =>
    savedByName.has(column.trim())
      ? savedByName.get(column.trim())
      : savedByName.get(normalizeHeader(column));
  const assigned = new Set(columns.map(named).filter((field) => field));
  return Object.fromEntries(
    columns.map((column) => {
      const field = named(column);
      if (field !== undefined) return [column, field];
      const guess = guessField(column);
      return [column, guess && !assigned.has(guess) ? guess : null];
    }),
  );
}

/** A mapping as the API takes it: a column without a name cannot be named, and is ignored. */
export function sendableMapping(mapping: Mapping): Mapping {
  return Object.fromEntries(Object.entries(mapping).filter(([column]) => column.trim() !== ""));
}

/** What stops a mapping from being imported, in words: a field twice, sku or name missing. */
export function mappingProblems(columns: string[], mapping: Mapping): string[] {
  const problems: string[] = [];
  for (const field of FIELDS) {
    const named = columns.filter((column) => mapping[column] === field);
    if (named.length > 1) {
      const all = named.length === 2 ? "both" : "all";
      problems.push(`${quoteList(named)} are ${all} mapped to ${field}: choose one of them.`);
    }
  }
  for (const field of REQUIRED_FIELDS) {
    if (!columns.some((column) => mapping[column] === field)) {
      problems.push(`No column is mapped to ${field}: choose the column that holds it.`);
    }
  }
  return problems;
}

/** The fields of data rows as the import will read them under `mapping` ("" where unmapped). */
export function rowsAsMapped(
  columns: string[],
  mapping: Mapping,
  rows: string[][],
): Record<ProductField, string>[] {
  return rows.map((row) => {
    const product: Record<ProductField, string> = {
      sku: "",
      name: "",
      description: "",
      active: "",
    };
    columns.forEach((column, index) => {
      const field = mapping[column];
      if (field) product[field] = (row[index] ?? "").trim();
    });
    return product;
  });
}

function quoteList(items: string[]): string {
  const quoted = items.map((item) => `"${item}"`);
  return quoted.length === 2
    ? quoted.join(" and ")
    : `${quoted.slice(0, -1).join(", ")} and ${quoted.at(-1)}`;
}
