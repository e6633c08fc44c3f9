export type JobStatus = "PENDING" | "PROCESSING" | "COMPLETED" | "FAILED";
export type JobKind = "import" | "bulk_delete";

/** A field of a product that a column of a file can fill. */
export type ProductField = "sku" | "name" | "description" | "active";
/** From a column of the file, exactly as in its header, to a field; null ignores the column. */
export type Mapping = Record<string, ProductField | null>;
export type OnError = "skip" | "abort";

/** How an import reads its file: what a saved profile keeps, and what an upload may send. */
export interface ImportOptions {
  on_error: OnError;
  update_existing: boolean;
  mapping: Mapping;
}

/** An import's options as the server applied them (mapping null: guessed from the header). */
export interface AppliedOptions {
  on_error?: OnError;
  update_existing?: boolean;
  mapping?: Mapping | null;
  profile?: number | null;
}

/** A job as the API answers it (`/api/job/<id>/status/`, `/api/jobs/`). */
export interface Job {
  id: string;
  kind: JobKind;
  status: JobStatus;
  stage: string;
  message: string;
  total_rows: number | null;
  processed_rows: number;
  percent: number;
  created_count: number;
  updated_count: number;
  invalid_count: number;
  duplicate_count: number;
  deleted_count: number;
  error_message: string;
  file_name: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** The id of the user who started it; null for jobs of the command line. */
  created_by: number | null;
  status_url: string;
  events_url?: string | null;
  errors_url: string | null;
  /** A preview: the import is checked and its changes kept, nothing is written. */
  dry_run: boolean;
  options: AppliedOptions | null;
  unchanged_count: number;
  skipped_count: number;
  /** A completed preview's changes while they are kept; null otherwise. */
  changes_url: string | null;
  changes_csv_url: string | null;
  /** Where to import a completed preview's changes, while it can be; null otherwise. */
  apply_url: string | null;
  /** The preview this import applies, or null. */
  source_job: string | null;
  /** The header of the file once it was read, else null. */
  file_columns: string[] | null;
  /** A failed job whose header could not be mapped to sku and name. */
  needs_mapping: boolean;
  preview_expires_at: string | null;
}

/** A product as a preview would leave it, and as it was (`previous_*`, null for a new one). */
export interface Change {
  action: "create" | "update";
  sku: string;
  name: string;
  description: string;
  active: boolean;
  previous_sku: string | null;
  previous_name: string | null;
  previous_description: string | null;
  previous_active: boolean | null;
}

/** A saved way of reading files: `/api/import-profiles/`. */
export interface ImportProfile extends ImportOptions {
  id: number;
  name: string;
  created_at: string;
  updated_at: string;
}

export function isFinished(job: Pick<Job, "status">): boolean {
  return job.status === "COMPLETED" || job.status === "FAILED";
}

/** A URL of the API as a path of this site, whatever host name the server saw. */
export function sitePath(url: string): string {
  const parsed = new URL(url, window.location.href);
  return `${parsed.pathname}${parsed.search}`;
}
