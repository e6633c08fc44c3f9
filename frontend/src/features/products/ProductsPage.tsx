import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState } from "react";
import { Button, ConfirmDialog, ErrorMessage, useNotify } from "@/components/ui";
import { onlyFor, useAccess } from "@/features/auth";
import {
  JobProgress,
  isFinished,
  jobKey,
  useJob,
  useRememberedJob,
  type Job,
} from "@/features/imports";
import { plural } from "@/lib/format";
import { productListPath, productsKey, useDeleteProduct, useProducts } from "./api";
import { DeleteAllDialog } from "./DeleteAllDialog";
import { Pagination } from "./Pagination";
import { ProductDialog } from "./ProductDialog";
import { ProductFilters } from "./ProductFilters";
import { ProductTable } from "./ProductTable";
import { UndoDeleteNotice } from "./UndoDeleteNotice";
import { PAGE_SIZE, type Product } from "./types";
import { useProductQuery } from "./useProductQuery";

export const BULK_DELETE_KEY = "product-importer.bulk-delete";

type Editing = { product: Product | null } | null;

export function ProductsPage() {
  const notify = useNotify();
  const { query, update, hasFilters } = useProductQuery();
  const products = useProducts(query);
  const [editing, setEditing] = useState<Editing>(null);
  const [deleting, setDeleting] = useState<Product | null>(null);
  const [deleteAllOpen, setDeleteAllOpen] = useState(false);
  const deleteProduct = useDeleteProduct();
  const bulk = useBulkDeleteProgress();
  const access = useAccess();
  const mayAdd = access.can("products.add_product");
  const mayEdit = access.can("products.change_product");
  const mayDelete = access.can("products.delete_product");
  const mayDeleteAll = access.can("imports.delete_all_products");
  const addNoteId = useId();
  const deleteAllNoteId = useId();

  // A page that no longer exists (the last one, emptied by a delete): go back to the first.
  const { error } = products;
  useEffect(() => {
    if (error && "status" in error && error.status === 404 && query.page !== 1) update({ page: 1 });
  }, [error, query.page, update]);

  const data = products.data;
  return (
    <main id="main" className="page">
      <div className="page__header">
        <h1>Products</h1>
        <div className="page__actions">
          <a
            className="button button--ghost"
            href={productListPath(query, "/api/products/export/")}
          >
            Export CSV
          </a>
          <Button
            variant="primary"
            disabled={!mayAdd}
            aria-describedby={mayAdd ? undefined : addNoteId}
            onClick={() => setEditing({ product: null })}
          >
            New product
          </Button>
          <Button
            variant="danger"
            disabled={!mayDeleteAll}
            aria-describedby={mayDeleteAll ? undefined : deleteAllNoteId}
            onClick={() => setDeleteAllOpen(true)}
          >
            Delete all…
          </Button>
        </div>
      </div>
      {(!mayAdd || !mayDeleteAll) && (
        <p className="note">
          {!mayAdd && (
            <span id={addNoteId}>
              {onlyFor("editor", "add, edit or delete products", access.role)}
            </span>
          )}{" "}
          {!mayDeleteAll && (
            <span id={deleteAllNoteId}>{onlyFor("admin", "delete all products", access.role)}</span>
          )}
        </p>
      )}

      {bulk.job && (
        <JobProgress
          job={bulk.job}
          title={bulk.job.kind === "revert" ? "Undo delete all" : "Delete all products"}
          onDismiss={bulk.dismiss}
        />
      )}
      {mayDeleteAll && <UndoDeleteNotice onUndoing={bulk.follow} />}

      <ProductFilters
        query={query}
        onChange={update}
        hasFilters={hasFilters}
        onClear={() => update({ search: "", sku: "", name: "", description: "", active: "" })}
      />

      <ErrorMessage error={products.error} prefix="Could not load the products:" />
      {data?.search_catching_up && (
        <p className="muted" role="status">
          Search is catching up with a large import: for a few seconds, these results may miss
          products it changed.
        </p>
      )}
      {data && data.results.length === 0 && (
        <p className="empty">
          {hasFilters ? "No product matches these filters." : "No products yet: import a CSV."}
        </p>
      )}
      {data && data.results.length > 0 && (
        <ProductTable
          products={data.results}
          ordering={query.ordering}
          onOrder={(ordering) => update({ ordering })}
          onEdit={mayEdit ? (product) => setEditing({ product }) : undefined}
          onDelete={mayDelete ? setDeleting : undefined}
          busy={products.isPlaceholderData && products.isFetching}
        />
      )}
      {!data && products.isPending && <p className="muted">Loading products…</p>}
      {data && (
        <Pagination
          page={
            data.page !== undefined ? data.page : typeof query.page === "number" ? query.page : null
          }
          pageSize={PAGE_SIZE}
          count={data.count}
          countExact={data.count_exact ?? true}
          shown={data.results.length}
          next={data.next}
          previous={data.previous}
          onPage={(page) => update({ page })}
        />
      )}

      <ProductDialog
        open={editing !== null}
        product={editing?.product ?? null}
        onClose={() => setEditing(null)}
        onSaved={(product, created) => {
          setEditing(null);
          notify("success", `${created ? "Created" : "Saved"} ${product.sku}.`);
        }}
      />
      <ConfirmDialog
        open={deleting !== null}
        title="Delete product"
        description={
          deleting && (
            <>
              Delete <strong>{deleting.name}</strong> (SKU <code>{deleting.sku}</code>)? This cannot
              be undone.
            </>
          )
        }
        confirmLabel="Delete"
        busy={deleteProduct.isPending}
        error={deleteProduct.error}
        onClose={() => {
          setDeleting(null);
          deleteProduct.reset();
        }}
        onConfirm={() =>
          deleting &&
          deleteProduct.mutate(deleting, {
            onSuccess: () => {
              notify("success", `Deleted ${deleting.sku}.`);
              setDeleting(null);
            },
          })
        }
      />
      <DeleteAllDialog
        open={deleteAllOpen}
        onClose={() => setDeleteAllOpen(false)}
        onStarted={(job) => {
          setDeleteAllOpen(false);
          bulk.follow(job);
        }}
      />
    </main>
  );
}

/**
 * The delete-all job, or the revert that undoes one: followed live, remembered for the tab while
 * it runs, and announced once when it ends (the catalog is reloaded then).
 */
function useBulkDeleteProgress() {
  const notify = useNotify();
  const queryClient = useQueryClient();
  const [rememberedId, setRememberedId] = useRememberedJob(BULK_DELETE_KEY);
  const [shownId, setShownId] = useState<string | null>(rememberedId);
  const job = useJob(shownId).data ?? null;
  const announced = useRef<string | null>(null);

  useEffect(() => {
    if (!job || !isFinished(job) || job.id !== rememberedId || announced.current === job.id) return;
    announced.current = job.id;
    setRememberedId(null);
    void queryClient.invalidateQueries({ queryKey: productsKey });
    void queryClient.invalidateQueries({ queryKey: ["jobs"] });
    const [kind, text] = endOf(job);
    notify(kind, text);
  }, [job, rememberedId, setRememberedId, queryClient, notify]);

  return {
    job,
    follow: (started: Job) => {
      setRememberedId(started.id);
      setShownId(started.id);
      queryClient.setQueryData(jobKey(started.id), started);
    },
    dismiss: () => setShownId(null),
  };
}

/** How a delete-all or its undo ended, as a notice says it. */
function endOf(job: Job): ["success" | "error" | "info", string] {
  const undo = job.kind === "revert";
  if (job.status === "CANCELLED") {
    return ["info", `${undo ? "Undo" : "Delete all"} cancelled: no product was changed.`];
  }
  if (job.status === "FAILED") {
    return [
      "error",
      `${undo ? "Undo" : "Delete all"} failed: ${job.error_message || "unknown error"}`,
    ];
  }
  if (!undo) return ["success", `Deleted ${plural(job.deleted_count, "product")}.`];
  const conflicts = job.conflict_count
    ? ` ${plural(job.conflict_count, "SKU")} created again since ${job.conflict_count === 1 ? "was" : "were"} left as ${job.conflict_count === 1 ? "it is" : "they are"}.`
    : "";
  return ["success", `Brought back ${plural(job.created_count, "product")}.${conflicts}`];
}
