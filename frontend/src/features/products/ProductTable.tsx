import { Button } from "@/components/ui";
import { formatDate } from "@/lib/format";
import type { Product } from "./types";

interface Column {
  key: string;
  label: string;
  sortKey?: string;
  className?: string;
}

const COLUMNS: Column[] = [
  { key: "sku", label: "SKU", sortKey: "sku" },
  { key: "name", label: "Name", sortKey: "name", className: "name" },
  { key: "description", label: "Description", className: "description" },
  { key: "active", label: "Active" },
  { key: "updated_at", label: "Updated", sortKey: "updated_at" },
];

export interface ProductTableProps {
  products: Product[];
  ordering: string;
  onOrder: (ordering: string) => void;
  /** Left out (with its button) when the role may not edit products. */
  onEdit?: (product: Product) => void;
  onDelete?: (product: Product) => void;
  busy: boolean;
}

/** Click a column's title to sort by it, again to reverse, a third time to go back to the default. */
function nextOrdering(current: string, key: string): string {
  if (current === key) return `-${key}`;
  if (current === `-${key}`) return "";
  return key;
}

export function ProductTable({
  products,
  ordering,
  onOrder,
  onEdit,
  onDelete,
  busy,
}: ProductTableProps) {
  const actions = onEdit !== undefined || onDelete !== undefined;
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label="Products">
      <table className={`table${busy ? " table--busy" : ""}`} aria-busy={busy}>
        <thead>
          <tr>
            {COLUMNS.map((column) => {
              const direction =
                ordering === column.sortKey
                  ? "ascending"
                  : ordering === `-${column.sortKey}`
                    ? "descending"
                    : undefined;
              return (
                <th
                  key={column.key}
                  scope="col"
                  className={column.className}
                  aria-sort={column.sortKey ? (direction ?? "none") : undefined}
                >
                  {column.sortKey ? (
                    <button
                      type="button"
                      className="sort-button"
                      onClick={() => onOrder(nextOrdering(ordering, column.sortKey as string))}
                    >
                      {column.label}
                      <span aria-hidden="true" className="sort-button__arrow">
                        {direction === "ascending" ? "▲" : direction === "descending" ? "▼" : "↕"}
                      </span>
                      <span className="visually-hidden">
                        {direction === "ascending"
                          ? ", sorted ascending"
                          : direction === "descending"
                            ? ", sorted descending"
                            : ", sort"}
                      </span>
                    </button>
                  ) : (
                    column.label
                  )}
                </th>
              );
            })}
            {actions && (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {products.map((product) => (
            <tr key={product.id}>
              <td className="mono">{product.sku}</td>
              <td className="name">{product.name}</td>
              <td className="description" title={product.description}>
                {product.description}
              </td>
              <td>{product.active ? "Yes" : "No"}</td>
              <td className="nowrap">{formatDate(product.updated_at)}</td>
              {actions && (
                <td className="actions">
                  {onEdit && (
                    <Button size="small" onClick={() => onEdit(product)}>
                      Edit<span className="visually-hidden"> {product.sku}</span>
                    </Button>
                  )}
                  {onDelete && (
                    <Button size="small" variant="ghost" onClick={() => onDelete(product)}>
                      Delete<span className="visually-hidden"> {product.sku}</span>
                    </Button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
