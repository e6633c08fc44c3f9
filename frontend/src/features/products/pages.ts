/** A page of the list as `?page=` names it: a number from 1, or counted from the end. */
export type PageRef = number | "last" | `last-${number}`;

const FROM_END = /^last(?:-([1-9][0-9]*))?$/;

/** The page a `?page=` value names; page 1 for none or for one that names no page. */
export function parsePageRef(value: string | null): PageRef {
  if (value === null) return 1;
  const fromEnd = FROM_END.exec(value);
  if (fromEnd) return fromEnd[1] ? `last-${Number(fromEnd[1])}` : "last";
  const number = /^[0-9]+$/.test(value) ? Number.parseInt(value, 10) : 0;
  return number > 0 ? number : 1;
}

/** The page of one of the API's `next` or `previous` links. */
export function pageOfLink(link: string): PageRef {
  return parsePageRef(new URL(link, "http://localhost").searchParams.get("page"));
}

/** How many pages before the last `page` is: 0 for "last", null for a numbered page. */
export function pagesBeforeLast(page: PageRef): number | null {
  if (typeof page === "number") return null;
  return page === "last" ? 0 : Number(page.slice("last-".length));
}
