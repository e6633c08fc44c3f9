import { Button, ErrorMessage } from "@/components/ui";
import { useAccess } from "@/features/auth";
import { formatDate, formatNumber } from "@/lib/format";
import { useApplyPreview, useChanges } from "./api";
import { FIELDS } from "./columns";
import { FIELD_LABELS } from "./MappingFields";
import { sitePath, type Change, type Job, type ProductField } from "./types";

export interface PreviewChangesProps {
  /** A completed dry run. */
  preview: Job;
  /** The import its changes started, to follow from there. */
  onApplied: (job: Job) => void;
}

/**
 * What a completed preview would change: its first changes with each product before and after
 * side by side (the changed fields marked), the whole list as CSV, and the button that imports
 * exactly these changes.
 */
export function PreviewChanges({ preview, onApplied }: PreviewChangesProps) {
  const access = useAccess();
  const apply = useApplyPreview();
  const mayRead = access.canReadFilesOf(preview);
  const mayApply = access.canActOn(preview);
  return (
    <div className="preview">
      {preview.preview_expires_at && (
        <p className="muted small">
          The changes are kept until {formatDate(preview.preview_expires_at)}.
        </p>
      )}
      {mayRead && preview.changes_url && <FirstChanges preview={preview} />}
      {!mayRead && preview.changes_url && (
        <p className="note">
          Only an admin, or the user who previewed the file, can see its changes.
        </p>
      )}
      {!preview.changes_url && (
        <p className="note">The changes of this preview are no longer kept.</p>
      )}
      {mayRead && preview.changes_csv_url && (
        <p className="small">
          <a href={sitePath(preview.changes_csv_url)} download>
            Download all the changes (CSV)
          </a>
        </p>
      )}
      {preview.apply_url && mayApply && (
        <Button
          variant="primary"
          busy={apply.isPending}
          onClick={() => apply.mutate(preview, { onSuccess: (job) => onApplied(job) })}
        >
          Import these changes
        </Button>
      )}
      <ErrorMessage error={apply.error} prefix="Could not import the changes:" />
    </div>
  );
}

function FirstChanges({ preview }: { preview: Job }) {
  const changes = useChanges(preview);
  if (changes.error) {
    return <ErrorMessage error={changes.error} prefix="The changes cannot be shown:" />;
  }
  if (!changes.data) return <p className="muted">Loading the changes…</p>;
  const { count, results } = changes.data;
  if (count === 0) return <p className="muted">Nothing in the catalog would change.</p>;
  return (
    <>
      <p className="small">
        {results.length < count
          ? `The first ${formatNumber(results.length)} of ${formatNumber(count)} changes, by SKU.`
          : `${formatNumber(count)} ${count === 1 ? "change" : "changes"}, by SKU.`}
      </p>
      <div className="table-wrap" tabIndex={0} role="region" aria-label="Changes">
        <table className="table changes">
          <thead>
            <tr>
              <th scope="col" rowSpan={2}>
                Change
              </th>
              {FIELDS.map((field) => (
                <th key={field} scope="colgroup" colSpan={2}>
                  {FIELD_LABELS[field]}
                </th>
              ))}
            </tr>
            <tr>
              {FIELDS.map((field) => [
                <th key={`${field}-before`} scope="col">
                  Before
                </th>,
                <th key={`${field}-after`} scope="col">
                  After
                </th>,
              ])}
            </tr>
          </thead>
          <tbody>
            {results.map((change) => (
              <ChangeRow key={change.sku} change={change} />
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function ChangeRow({ change }: { change: Change }) {
  const update = change.action === "update";
  return (
    <tr>
      <th scope="row">{update ? "Update" : "New"}</th>
      {FIELDS.map((field) => {
        const before = previousOf(change, field);
        const after = change[field];
        const changed = update && before !== after;
        return [
          <td key={`${field}-before`} className="changes__before">
            {update ? show(before) : <span className="visually-hidden">none</span>}
          </td>,
          <td key={`${field}-after`} className={changed ? "is-changed" : undefined}>
            {show(after)}
            {changed && <span className="visually-hidden"> (changed)</span>}
          </td>,
        ];
      })}
    </tr>
  );
}

function previousOf(change: Change, field: ProductField): string | boolean | null {
  switch (field) {
    case "sku":
      return change.previous_sku;
    case "name":
      return change.previous_name;
    case "description":
      return change.previous_description;
    case "active":
      return change.previous_active;
  }
}

function show(value: string | boolean | null): string {
  if (typeof value === "boolean") return value ? "Yes" : "No";
  return value ?? "";
}
