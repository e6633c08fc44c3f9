import { Button } from "@/components/ui";
import { formatNumber } from "@/lib/format";

export interface PaginationProps {
  page: number;
  pageSize: number;
  count: number;
  countExact: boolean;
  hasNext: boolean;
  onPage: (page: number) => void;
}

export function Pagination({
  page,
  pageSize,
  count,
  countExact,
  hasNext,
  onPage,
}: PaginationProps) {
  const pages = Math.max(1, Math.ceil(count / pageSize));
  const first = count === 0 ? 0 : (page - 1) * pageSize + 1;
  const last = Math.min(page * pageSize, Math.max(count, first));
  return (
    <nav className="pagination" aria-label="Pages">
      <p className="pagination__summary" aria-live="polite">
        {count === 0
          ? "No products"
          : `${formatNumber(first)}–${formatNumber(last)} of ${countExact ? "" : "about "}${formatNumber(count)} products · page ${formatNumber(page)} of ${countExact ? "" : "about "}${formatNumber(pages)}`}
      </p>
      <div className="pagination__buttons">
        <Button size="small" onClick={() => onPage(1)} disabled={page <= 1}>
          First
        </Button>
        <Button size="small" onClick={() => onPage(page - 1)} disabled={page <= 1}>
          Previous
        </Button>
        <Button size="small" onClick={() => onPage(page + 1)} disabled={!hasNext}>
          Next
        </Button>
        {countExact && (
          <Button size="small" onClick={() => onPage(pages)} disabled={page >= pages}>
            Last
          </Button>
        )}
      </div>
    </nav>
  );
}
