import type { Role, SessionUser } from "@/features/auth";
import type { Job } from "@/features/imports";

const VIEWER = ["imports.view_job", "imports.view_importprofile", "products.view_product"];
const EDITOR = [
  ...VIEWER,
  "imports.act_on_own_job",
  "imports.import_products",
  "imports.add_importprofile",
  "imports.change_importprofile",
  "imports.delete_importprofile",
  "products.add_product",
  "products.change_product",
  "products.delete_product",
];
const ADMIN = [
  ...EDITOR,
  "imports.act_on_any_job",
  "imports.delete_all_products",
  "imports.view_any_job_files",
  "webhooks.add_webhook",
  "webhooks.change_webhook",
  "webhooks.delete_webhook",
  "webhooks.view_webhook",
];
const PERMISSIONS: Record<Role, string[]> = { viewer: VIEWER, editor: EDITOR, admin: ADMIN };

/** A signed-in user of `role` (alice, the creator of `makeJob`'s jobs), as the session says. */
export function makeUser(role: Role | null, overrides: Partial<SessionUser> = {}): SessionUser {
  return {
    id: 1,
    username: "alice",
    is_staff: role === "admin",
    role,
    permissions: role ? PERMISSIONS[role] : [],
    ...overrides,
  };
}

export function makeJob(overrides: Partial<Job> = {}): Job {
  return {
    id: "5b0c0000-0000-4000-8000-000000000001",
    kind: "import",
    status: "PROCESSING",
    stage: "importing",
    message: "Importing",
    total_rows: 1000,
    processed_rows: 400,
    percent: 40,
    created_count: 0,
    updated_count: 0,
    invalid_count: 0,
    duplicate_count: 0,
    deleted_count: 0,
    error_message: "",
    file_name: "products.csv",
    created_at: "2026-01-01T10:00:00Z",
    started_at: "2026-01-01T10:00:01Z",
    finished_at: null,
    created_by: "alice",
    duration_s: 4,
    rows_per_s: 100,
    eta_s: 6,
    cancel_requested: false,
    conflict_count: 0,
    reverts: null,
    reverted_by: null,
    revertible: false,
    revert_until: null,
    cancel_url: "http://testserver/api/jobs/5b0c0000-0000-4000-8000-000000000001/cancel/",
    revert_url: null,
    status_url: "http://testserver/api/job/5b0c0000-0000-4000-8000-000000000001/status/",
    events_url: "http://testserver/api/job/5b0c0000-0000-4000-8000-000000000001/events/",
    errors_url: null,
    dry_run: false,
    options: { on_error: "skip", update_existing: true, mapping: {}, profile: null },
    unchanged_count: 0,
    skipped_count: 0,
    changes_url: null,
    changes_csv_url: null,
    apply_url: null,
    source_job: null,
    file_columns: null,
    needs_mapping: false,
    preview_expires_at: null,
    ...overrides,
  };
}
