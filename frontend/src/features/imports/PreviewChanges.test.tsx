import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { makeJob, makeUser } from "@/test/fixtures";
import { mockFetch, renderWithProviders } from "@/test/utils";
import { JobProgress } from "./JobProgress";
import { PreviewChanges } from "./PreviewChanges";
import type { Change } from "./types";

const PREVIEW = makeJob({
  id: "7e000000-0000-4000-8000-000000000002",
  status: "COMPLETED",
  message: "Preview complete",
  percent: 100,
  dry_run: true,
  created_count: 1,
  updated_count: 1,
  unchanged_count: 3,
  skipped_count: 0,
  invalid_count: 2,
  errors_url: "http://testserver/api/jobs/7e/errors.csv",
  changes_url: "http://testserver/api/jobs/7e/changes/",
  changes_csv_url: "http://testserver/api/jobs/7e/changes.csv",
  apply_url: "http://testserver/api/jobs/7e/apply/",
  preview_expires_at: "2026-01-02T10:00:00Z",
});

const CHANGES: Change[] = [
  {
    action: "create",
    sku: "A-1",
    name: "Chair",
    description: "Oak",
    active: true,
    previous_sku: null,
    previous_name: null,
    previous_description: null,
    previous_active: null,
  },
  {
    action: "update",
    sku: "B-2",
    name: "Desk, wide",
    description: "Pine",
    active: false,
    previous_sku: "b-2",
    previous_name: "Desk",
    previous_description: "Pine",
    previous_active: true,
  },
];

function cells(row: HTMLElement) {
  return within(row)
    .getAllByRole("cell")
    .map((cell) => cell.textContent);
}

describe("PreviewChanges", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("shows what would change, before and after, the changed fields marked", async () => {
    mockFetch((call) =>
      call.url === "/api/jobs/7e/changes/"
        ? { body: { count: 2, next: null, previous: null, results: CHANGES } }
        : undefined,
    );
    renderWithProviders(
      <JobProgress job={PREVIEW}>
        <PreviewChanges preview={PREVIEW} onApplied={vi.fn()} />
      </JobProgress>,
    );
    const card = screen.getByRole("region", { name: "Preview of products.csv" });
    expect(within(card).getByText("To create").nextSibling).toHaveTextContent("1");
    expect(within(card).getByText("To update").nextSibling).toHaveTextContent("1");
    expect(within(card).getByText("Unchanged").nextSibling).toHaveTextContent("3");
    expect(within(card).getByText("Invalid rows").nextSibling).toHaveTextContent("2");

    const table = await screen.findByRole("region", { name: "Changes" });
    const [, , created, updated] = within(table).getAllByRole("row");
    expect(within(created!).getByRole("rowheader")).toHaveTextContent("New");
    expect(cells(created!)).toEqual(["none", "A-1", "none", "Chair", "none", "Oak", "none", "Yes"]);
    expect(within(updated!).getByRole("rowheader")).toHaveTextContent("Update");
    expect(cells(updated!)).toEqual([
      "b-2",
      "B-2 (changed)",
      "Desk",
      "Desk, wide (changed)",
      "Pine",
      "Pine",
      "Yes",
      "No (changed)",
    ]);
    expect(within(updated!).getAllByRole("cell")[3]).toHaveClass("is-changed");
    expect(within(updated!).getAllByRole("cell")[5]).not.toHaveClass("is-changed");
    expect(within(created!).getAllByRole("cell")[1]).not.toHaveClass("is-changed");

    expect(screen.getByRole("link", { name: "Download all the changes (CSV)" })).toHaveAttribute(
      "href",
      "/api/jobs/7e/changes.csv",
    );
    expect(screen.getByRole("link", { name: /error report/ })).toHaveAttribute(
      "href",
      "/api/jobs/7e/errors.csv",
    );
  });

  it("imports these changes and hands over the new import", async () => {
    const applied = makeJob({ id: "a0000000-0000-4000-8000-000000000003", source_job: PREVIEW.id });
    const calls = mockFetch((call) => {
      if (call.url === "/api/jobs/7e/changes/") {
        return { body: { count: 0, next: null, previous: null, results: [] } };
      }
      if (call.method === "POST" && call.url === "/api/jobs/7e/apply/") {
        return { status: 202, body: applied };
      }
      return undefined;
    });
    const onApplied = vi.fn();
    renderWithProviders(<PreviewChanges preview={PREVIEW} onApplied={onApplied} />);
    expect(await screen.findByText("Nothing in the catalog would change.")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Import these changes" }));
    await vi.waitFor(() => expect(onApplied).toHaveBeenCalledWith(applied));
    expect(calls.filter((call) => call.method === "POST")).toHaveLength(1);
  });

  it("says in the server's words when the preview expired", async () => {
    const expired = "This preview expired; preview the file again.";
    mockFetch((call) =>
      call.method === "POST" || call.url === "/api/jobs/7e/changes/"
        ? { status: 410, body: { detail: expired } }
        : undefined,
    );
    renderWithProviders(<PreviewChanges preview={PREVIEW} onApplied={vi.fn()} />);
    expect(await screen.findByText(`The changes cannot be shown: ${expired}`)).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Import these changes" }));
    expect(await screen.findByText(`Could not import the changes: ${expired}`)).toBeInTheDocument();
  });

  it("offers no import of changes that are gone", () => {
    mockFetch(() => undefined);
    const gone = { ...PREVIEW, changes_url: null, changes_csv_url: null, apply_url: null };
    renderWithProviders(<PreviewChanges preview={gone} onApplied={vi.fn()} />);
    expect(screen.getByText("The changes of this preview are no longer kept.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Import these changes" })).not.toBeInTheDocument();
  });

  it("shows someone else's changes and their import to no one but an admin", () => {
    const calls = mockFetch(() => undefined);
    renderWithProviders(<PreviewChanges preview={PREVIEW} onApplied={vi.fn()} />, {
      user: makeUser("editor", { username: "bob" }),
    });
    expect(
      screen.getByText("Only an admin, or the user who previewed the file, can see its changes."),
    ).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Import these changes" })).not.toBeInTheDocument();
    expect(calls).toEqual([]);
  });
});
