import { Button } from "@/components/ui";
import { formatNumber } from "@/lib/format";
import { pageOfLink, pagesBeforeLast, type PageRef } from "./pages";

export interface PaginationProps {
  /** The page's number; null for a page counted from the end of a list whose count is an estimate. */
  page: number | null;
  pageSize: number;
  count: number;
  countExact: boolean;
  /** How many products the page holds. */
  shown: number;
  /** The API's `next` and `previous` links. */
  next: string | null;
  previous: string | null;
  onPage: (page: PageRef) => void;
}

/**
 * First, Previous, Next and Last. Last asks for `?page=last`, which the API answers even when the
 * count is an estimate; from there Previous counts from the end (`last-1`, ...), as the API's links do.
 */
export function Pagination({
  page,
  pageSize,
  count,
  countExact,
  shown,
  next,
  previous,
  onPage,
}: PaginationProps) {
  const nextPage = next === null ? null : page === null ? pageOfLink(next) : page + 1;
  const previousPage =
    page === null ? (previous === null ? null : pageOfLink(previous)) : page > 1 ? page - 1 : null;
  return (
    <nav className="pagination" aria-label="Pages">
      <p className="pagination__summary" aria-live="polite">
        {count === 0 ? "No products" : summary()}
      </p>
      <div className="pagination__buttons">
        <Button size="small" onClick={() => onPage(1)} disabled={previousPage === null}>
          First
        </Button>
        <Button
          size="small"
          onClick={() => previousPage !== null && onPage(previousPage)}
          disabled={previousPage === null}
        >
          Previous
        </Button>
        <Button
          size="small"
          onClick={() => nextPage !== null && onPage(nextPage)}
          disabled={nextPage === null}
        >
          Next
        </Button>
        <Button size="small" onClick={() => onPage("last")} disabled={next === null}>
          Last
        </Button>
      </div>
    </nav>
  );

  function summary(): string {
    const about = countExact ? "" : "about ";
    if (page === null) {
      // The page after this one is `last-(k-1)` (or `last`), so this one is k pages before the last.
      const before = nextPage === null ? 0 : (pagesBeforeLast(nextPage) ?? 0) + 1;
      return before === 0
        ? `Last ${formatNumber(shown)} of ${about}${formatNumber(count)} products · last page`
        : `${formatNumber(shown)} of ${about}${formatNumber(count)} products · page ${formatNumber(before + 1)} from the end`;
    }
    const pages = Math.max(1, Math.ceil(count / pageSize));
    const first = (page - 1) * pageSize + 1;
    const last = Math.min(page * pageSize, Math.max(count, first));
    return `${formatNumber(first)}–${formatNumber(last)} of ${about}${formatNumber(count)} products · page ${formatNumber(page)} of ${about}${formatNumber(pages)}`;
  }
}
