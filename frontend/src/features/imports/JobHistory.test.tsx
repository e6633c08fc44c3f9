import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { makeJob, makeUser } from "@/test/fixtures";
import { mockFetch, renderWithProviders, type Call } from "@/test/utils";
import { CURRENT_IMPORT_KEY, ImportPage } from "./ImportPage";
import type { Job } from "./types";

const IMPORT_ID = "1a000000-0000-4000-8000-000000000001";
const REVERT_ID = "2b000000-0000-4000-8000-000000000002";

const IMPORTED = makeJob({
  id: IMPORT_ID,
  status: "COMPLETED",
  stage: "done",
  message: "Import complete",
  percent: 100,
  total_rows: 500_000,
  processed_rows: 500_000,
  created_count: 466_693,
  updated_count: 0,
  duration_s: 83.4,
  rows_per_s: 5995,
  eta_s: null,
  cancel_url: null,
  revertible: true,
  revert_until: "2026-01-08T10:00:00Z",
  revert_url: `http://testserver/api/jobs/${IMPORT_ID}/revert/`,
});

const REVERTING = makeJob({
  id: REVERT_ID,
  kind: "revert",
  file_name: "products.csv",
  reverts: IMPORT_ID,
  stage: "reverting",
  message: "Reverting",
  processed_rows: 0,
  rows_per_s: null,
  eta_s: null,
  cancel_url: `http://testserver/api/jobs/${REVERT_ID}/cancel/`,
});

function pageOf(jobs: Job[], count = jobs.length, next: string | null = null) {
  return { count, next, previous: null, results: jobs };
}

/** `/api/jobs/` from `list`, each job's status from `jobs`, the rest from `other`. */
function mockJobsApi(
  list: (url: URL) => ReturnType<typeof pageOf>,
  jobs: Job[] = [],
  other: (call: Call) => { status?: number; body?: unknown } | undefined = () => undefined,
) {
  return mockFetch((call) => {
    if (call.url.startsWith("/api/jobs/?") || call.url === "/api/jobs/") {
      return { body: list(new URL(call.url, "http://testserver")) };
    }
    const job = jobs.find((candidate) => call.url === `/api/job/${candidate.id}/status/`);
    return job ? { body: job } : other(call);
  });
}

/** The history's table, once it has jobs. */
function history() {
  return screen.findByRole("region", { name: "Jobs, newest first" });
}

describe("JobHistory", () => {
  beforeEach(() => vi.stubGlobal("EventSource", undefined));
  afterEach(() => vi.unstubAllGlobals());

  it("says a running job's stage in the same words as its card", async () => {
    const waiting = makeJob({
      stage: "waiting",
      message: "Waiting for the job before it",
      processed_rows: 0,
    });
    mockJobsApi(() => pageOf([waiting]), [waiting]);
    window.sessionStorage.setItem(CURRENT_IMPORT_KEY, waiting.id);
    renderWithProviders(<ImportPage />, { path: "/imports" });
    const card = await screen.findByRole("region", { name: "Progress of products.csv" });
    const row = within(await history()).getByRole("row", { name: /products\.csv/ });
    await within(card).findByText("Waiting for the job before it");
    expect(within(row).getByText("Waiting for the job before it")).toHaveClass("badge");
    expect(card).not.toHaveTextContent("Running");
    expect(row).not.toHaveTextContent("Running");
  });

  it("shows who, how long, the status and the outcome of every kind of job", async () => {
    const jobs = [
      makeJob({
        id: "c1",
        status: "CANCELLED",
        message: "Cancelled",
        created_by: "bob",
        duration_s: 2.5,
        cancel_url: null,
      }),
      makeJob({
        id: "d1",
        kind: "bulk_delete",
        status: "COMPLETED",
        message: "Delete complete",
        file_name: "",
        total_rows: null,
        deleted_count: 1000,
        duration_s: 0.8,
        reverted_by: REVERT_ID,
      }),
      { ...IMPORTED, invalid_count: 2, errors_url: "http://testserver/api/jobs/x/errors.csv" },
    ];
    mockJobsApi(() => pageOf(jobs));
    renderWithProviders(<ImportPage />, { path: "/imports" });
    const rows = within(await history()).getAllByRole("row");
    const cells = (row: HTMLElement) =>
      within(row)
        .getAllByRole("cell")
        .slice(0, 7)
        .map((cell) => cell.textContent);
    expect(cells(rows[1]!)).toEqual([
      "products.csv",
      "bob",
      "Cancelled",
      "1 Jan 2026, 10:00",
      "2.5 s",
      "1,000",
      "Nothing changed",
    ]);
    expect(cells(rows[2]!)).toEqual([
      "Delete all products",
      "alice",
      "Done Reverted",
      "1 Jan 2026, 10:00",
      "0.8 s",
      "–",
      "1,000 deleted",
    ]);
    expect(cells(rows[3]!)).toEqual([
      "products.csv",
      "alice",
      "Done",
      "1 Jan 2026, 10:00",
      "1 min 23 s",
      "500,000",
      "466,693 created, 0 updated, 2 invalid · errors (CSV) of products.csv",
    ]);
    // A job that was reverted cannot be again; the others can.
    expect(within(rows[2]!).queryByRole("button", { name: /^(Undo|Revert)/ })).toBeNull();
    expect(
      within(rows[3]!).getByRole("button", { name: /^Revert\s*products\.csv$/ }),
    ).toBeEnabled();
  });

  it("pages through the jobs and filters them", async () => {
    const calls = mockJobsApi((url) => {
      const page = Number(url.searchParams.get("page") ?? "1");
      const jobs = Array.from({ length: page < 3 ? 10 : 5 }, (_, i) =>
        makeJob({ id: `j${page}-${i}`, status: "COMPLETED", file_name: `file-${page}-${i}.csv` }),
      );
      return pageOf(jobs, 25, page < 3 ? `http://testserver/api/jobs/?page=${page + 1}` : null);
    });
    renderWithProviders(<ImportPage />, { path: "/imports" });
    expect(await screen.findByText("1–10 of 25 jobs · page 1 of 3")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Previous" })).toBeDisabled();
    await userEvent.click(screen.getByRole("button", { name: "Next" }));
    expect(await screen.findByText("11–20 of 25 jobs · page 2 of 3")).toBeInTheDocument();
    expect(screen.getByRole("cell", { name: "file-2-0.csv" })).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Next" }));
    expect(await screen.findByText("21–25 of 25 jobs · page 3 of 3")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Next" })).toBeDisabled();
    expect(calls.map((call) => call.url)).toEqual([
      "/api/jobs/?page_size=10",
      "/api/jobs/?page=2&page_size=10",
      "/api/jobs/?page=3&page_size=10",
    ]);

    // A filter starts again from the first page.
    await userEvent.selectOptions(screen.getByLabelText("Status"), "Cancelled");
    await userEvent.selectOptions(screen.getByLabelText("Kind"), "Reverts");
    await userEvent.click(screen.getByLabelText("Only mine"));
    await waitFor(() =>
      expect(calls.at(-1)?.url).toBe(
        "/api/jobs/?page_size=10&kind=revert&status=CANCELLED&created_by=alice",
      ),
    );
  });

  it("says what a revert will do in numbers, then follows it and its conflicts", async () => {
    const reverted = {
      ...REVERTING,
      status: "COMPLETED" as const,
      stage: "done",
      message: "Revert complete",
      percent: 100,
      deleted_count: 466_690,
      conflict_count: 3,
      cancel_url: null,
      errors_url: `http://testserver/api/jobs/${REVERT_ID}/errors.csv`,
    };
    let revertState: Job = REVERTING;
    const calls = mockJobsApi(
      () => pageOf([IMPORTED]),
      [],
      (call) => {
        if (call.method === "POST" && call.url === `/api/jobs/${IMPORT_ID}/revert/`) {
          return { status: 202, body: REVERTING };
        }
        if (call.url === `/api/job/${REVERT_ID}/status/`) {
          const answer = revertState;
          revertState = reverted;
          return { body: answer };
        }
        return undefined;
      },
    );
    renderWithProviders(<ImportPage />, { path: "/imports" });
    const table = await history();
    await userEvent.click(within(table).getByRole("button", { name: /^Revert\s*products\.csv$/ }));
    const dialog = screen.getByRole("alertdialog", { name: /^Revert\s*products\.csv$/ });
    expect(dialog).toHaveAccessibleDescription(
      "466,693 products created by this import will be deleted; 0 will get their previous values back.",
    );
    expect(dialog).toHaveTextContent("can be reverted until 8 Jan 2026");
    await userEvent.click(within(dialog).getByLabelText(/Revert the conflicts too \(force\)/));
    await userEvent.click(within(dialog).getByRole("button", { name: "Revert" }));

    const card = await screen.findByRole("region", { name: "Progress of Revert of products.csv" });
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(within(card).getByText("Reverting")).toBeInTheDocument();
    expect(within(card).getByRole("button", { name: "Cancel" })).toBeEnabled();
    expect(await within(card).findByText("Revert complete", {}, { timeout: 3000 })).toBeVisible();
    expect(within(card).getByText("Conflicts").nextSibling).toHaveTextContent("3");
    expect(
      within(card).getByRole("link", { name: "Download the conflicts (CSV)" }),
    ).toHaveAttribute("href", `/api/jobs/${REVERT_ID}/errors.csv`);
    expect(window.sessionStorage.getItem(CURRENT_IMPORT_KEY)).toBe(REVERT_ID);
    expect(calls.filter((call) => call.method === "POST")).toEqual([
      expect.objectContaining({ url: `/api/jobs/${IMPORT_ID}/revert/`, body: { force: true } }),
    ]);
  });

  it("says in numbers what undoing a delete-all brings back, and why it cannot", async () => {
    const deleted = makeJob({
      kind: "bulk_delete",
      status: "COMPLETED",
      message: "Delete complete",
      file_name: "",
      deleted_count: 1000,
      revertible: true,
      revert_url: "http://testserver/api/jobs/d/revert/",
    });
    const calls = mockJobsApi(
      () => pageOf([deleted]),
      [],
      (call) =>
        call.method === "POST"
          ? { status: 410, body: { detail: "Its undo expired: it was kept for 7 days." } }
          : undefined,
    );
    renderWithProviders(<ImportPage />, { path: "/imports" });
    await userEvent.click(
      within(await history()).getByRole("button", { name: /^Undo\s*Delete all products$/ }),
    );
    const dialog = screen.getByRole("alertdialog", { name: "Undo delete all" });
    expect(dialog).toHaveAccessibleDescription("1,000 deleted products will be brought back.");
    await userEvent.click(within(dialog).getByRole("button", { name: "Bring them back" }));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent(
      "Could not revert: Its undo expired: it was kept for 7 days.",
    );
    expect(calls.at(-1)).toMatchObject({ url: "/api/jobs/d/revert/", body: { force: false } });
  });

  it("offers no revert to a viewer, nor to an editor for another user's import", async () => {
    mockJobsApi(() => pageOf([IMPORTED, { ...IMPORTED, id: "theirs", created_by: "bob" }]));
    const { unmount } = renderWithProviders(<ImportPage />, {
      path: "/imports",
      user: makeUser("viewer"),
    });
    expect(within(await history()).getAllByRole("button", { name: /^Show/ })).toHaveLength(2);
    expect(screen.queryByRole("button", { name: /^Revert/ })).toBeNull();
    unmount();
    renderWithProviders(<ImportPage />, { path: "/imports", user: makeUser("editor") });
    expect(
      within(await history()).getAllByRole("button", { name: /^Revert\s*products\.csv$/ }),
    ).toHaveLength(1);
  });
});
