import type { Job } from "@/features/imports";

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
    status_url: "http://testserver/api/job/5b0c0000-0000-4000-8000-000000000001/status/",
    events_url: "http://testserver/api/job/5b0c0000-0000-4000-8000-000000000001/events/",
    errors_url: null,
    ...overrides,
  };
}
