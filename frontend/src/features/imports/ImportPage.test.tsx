import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { makeJob } from "@/test/fixtures";
import { mockFetch, renderWithProviders, type Call } from "@/test/utils";
import { FakeXhr } from "@/test/xhr";
import { CURRENT_IMPORT_KEY, ImportPage } from "./ImportPage";
import type { Job } from "./types";

const EMPTY = { count: 0, next: null, previous: null, results: [] };
const SUPPLIER_CSV = "Item Code,Product Name,Colour\nA-1,Chair,red\nA-2,Desk,oak\n";

/** The page's API: no jobs, no profiles, and `jobs` answered by their status. */
function mockApi(
  jobs: Job[],
  other: (call: Call) => { status?: number; body?: unknown } | undefined = () => undefined,
) {
  return mockFetch((call) => {
    if (call.url.startsWith("/api/jobs/?") || call.url.startsWith("/api/import-profiles/?")) {
      return { body: EMPTY };
    }
    const job = jobs.find((candidate) => call.url === `/api/job/${candidate.id}/status/`);
    return job ? { body: job } : other(call);
  });
}

async function chooseSupplierFile() {
  const file = new File([SUPPLIER_CSV], "supplier.csv", { type: "text/csv" });
  await userEvent.upload(screen.getByLabelText("Choose a file"), file);
  return screen.findByRole("region", { name: "Import of supplier.csv" });
}

/** An empty history, the supplier's file chosen and its columns guessed, then "Import now": the
 * upload is sent through FakeXhr, which answers only when the test says so. */
async function importSupplierFileNow() {
  vi.stubGlobal("XMLHttpRequest", FakeXhr);
  mockApi([]);
  renderWithProviders(<ImportPage />, { path: "/imports" });
  const setup = await chooseSupplierFile();
  await within(setup).findByLabelText("Item Code");
  await userEvent.click(within(setup).getByRole("button", { name: "Import now" }));
}

describe("ImportPage", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("shows an import that is running when the page opens again", async () => {
    vi.stubGlobal("EventSource", undefined);
    const running = makeJob({ message: "Parsing CSV", percent: 12, processed_rows: 120 });
    mockFetch((call) => {
      if (call.url.startsWith("/api/jobs/?")) {
        return { body: { count: 1, next: null, previous: null, results: [running] } };
      }
      if (call.url === `/api/job/${running.id}/status/`) return { body: running };
      return undefined;
    });
    renderWithProviders(<ImportPage />, { path: "/imports" });
    const progress = await screen.findByRole("region", { name: "Progress of products.csv" });
    expect(progress).toHaveTextContent("Parsing CSV");
    expect(progress).toHaveTextContent("12 %");
    expect(window.sessionStorage.getItem(CURRENT_IMPORT_KEY)).toBe(running.id);
  });

  it("says when the history cannot be loaded", async () => {
    mockFetch(() => ({ status: 500, body: null }));
    renderWithProviders(<ImportPage />, { path: "/imports" });
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Could not load the job history: The server failed.",
    );
  });

  it("shows the chosen file's columns, previews it, then imports the previewed changes", async () => {
    vi.stubGlobal("EventSource", undefined);
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const preview = makeJob({
      id: "7e000000-0000-4000-8000-000000000002",
      file_name: "supplier.csv",
      status: "COMPLETED",
      message: "Preview complete",
      percent: 100,
      dry_run: true,
      created_count: 2,
      changes_url: "http://testserver/api/jobs/7e/changes/",
      apply_url: "http://testserver/api/jobs/7e/apply/",
    });
    const applied = makeJob({
      id: "a0000000-0000-4000-8000-000000000003",
      file_name: "supplier.csv",
      status: "COMPLETED",
      message: "Import complete",
      percent: 100,
      created_count: 2,
      source_job: preview.id,
    });
    const calls = mockApi([preview, applied], (call) => {
      if (call.url === "/api/jobs/7e/changes/") {
        return { body: { ...EMPTY, count: 0 } };
      }
      if (call.method === "POST" && call.url === "/api/jobs/7e/apply/") {
        return { status: 202, body: applied };
      }
      return undefined;
    });
    renderWithProviders(<ImportPage />, { path: "/imports" });
    const setup = await chooseSupplierFile();
    expect(await within(setup).findByLabelText("Item Code")).toHaveValue("sku");
    expect(within(setup).getByText("Chair")).toBeInTheDocument();

    await userEvent.click(within(setup).getByRole("button", { name: "Preview changes" }));
    const sent = FakeXhr.last.sent!;
    expect(Object.fromEntries([...sent.entries()].filter(([key]) => key !== "file"))).toEqual({
      dry_run: "true",
      on_error: "skip",
      update_existing: "true",
      mapping: JSON.stringify({ "Item Code": "sku", "Product Name": "name", Colour: null }),
    });
    expect((sent.get("file") as File).name).toBe("supplier.csv");
    expect(screen.getByRole("region", { name: "Upload" })).toHaveTextContent("Uploading");
    FakeXhr.last.respond(202, { ...preview, status: "PENDING", percent: 0 });

    const shown = await screen.findByRole("region", { name: "Preview of supplier.csv" });
    expect((await within(shown).findByText("To create")).nextSibling).toHaveTextContent("2");
    expect(
      screen.queryByRole("region", { name: "Import of supplier.csv" }),
    ).not.toBeInTheDocument();
    await userEvent.click(
      await within(shown).findByRole("button", { name: "Import these changes" }),
    );
    const done = await screen.findByRole("region", { name: "Progress of supplier.csv" });
    expect(done).toHaveTextContent("Import complete");
    expect(window.sessionStorage.getItem(CURRENT_IMPORT_KEY)).toBe(applied.id);
    expect(calls.filter((call) => call.method === "POST").map((call) => call.url)).toEqual([
      "/api/jobs/7e/apply/",
    ]);
  });

  it("cancels an upload and offers the file again", async () => {
    await importSupplierFileNow();
    expect(FakeXhr.last.sent!.get("dry_run")).toBe("false");
    const upload = screen.getByRole("region", { name: "Upload" });
    await userEvent.click(within(upload).getByRole("button", { name: "Cancel" }));
    expect(await screen.findByRole("region", { name: "Upload failed" })).toHaveTextContent(
      "The upload was cancelled.",
    );
    expect(screen.getByRole("region", { name: "Import of supplier.csv" })).toBeInTheDocument();
  });

  it("offers a failed job whose header needs a mapping the mapping form", async () => {
    vi.stubGlobal("EventSource", undefined);
    const failed = makeJob({
      status: "FAILED",
      message: "Failed",
      percent: 0,
      needs_mapping: true,
      file_columns: ["Code", "Title", "Notes"],
      error_message: 'The header has no sku column (columns: "Code", "Title", "Notes"): map them.',
    });
    const calls = mockApi([failed], (call) =>
      call.method === "POST" && call.url === `/api/jobs/${failed.id}/retry/`
        ? {
            status: 202,
            body: { ...failed, status: "PENDING", message: "Queued", needs_mapping: false },
          }
        : undefined,
    );
    window.sessionStorage.setItem(CURRENT_IMPORT_KEY, failed.id);
    renderWithProviders(<ImportPage />, { path: "/imports" });
    const card = await screen.findByRole("region", { name: "Progress of products.csv" });
    expect(within(card).getByRole("alert")).toHaveTextContent("The header has no sku column");
    expect(within(card).getByRole("button", { name: "Retry" })).toBeInTheDocument();
    expect(within(card).getByLabelText("Title")).toHaveValue("name");
    const again = within(card).getByRole("button", { name: "Retry with this mapping" });
    expect(again).toBeDisabled();
    await userEvent.selectOptions(within(card).getByLabelText("Code"), "SKU");
    await userEvent.click(again);
    await vi.waitFor(() => expect(calls.filter((call) => call.method === "POST")).toHaveLength(1));
    expect(calls.find((call) => call.method === "POST")!.body).toEqual({
      mapping: { Code: "sku", Title: "name", Notes: null },
    });
    expect(await within(card).findByText("Queued")).toBeInTheDocument();
  });

  it("says why the server refused the options, and keeps the form", async () => {
    await importSupplierFileNow();
    FakeXhr.last.respond(400, { profile: ['Invalid pk "9" - object does not exist.'] });
    expect(await screen.findByRole("region", { name: "Upload failed" })).toHaveTextContent(
      'The upload failed: Invalid pk "9" - object does not exist.',
    );
    expect(screen.getByRole("region", { name: "Import of supplier.csv" })).toBeInTheDocument();
  });

  it("marks the previews in the history", async () => {
    const preview = makeJob({ status: "COMPLETED", dry_run: true, file_name: "supplier.csv" });
    mockFetch((call) =>
      call.url.startsWith("/api/jobs/?")
        ? { body: { count: 1, next: null, previous: null, results: [preview] } }
        : undefined,
    );
    renderWithProviders(<ImportPage />, { path: "/imports" });
    expect(await screen.findByRole("cell", { name: "supplier.csv Preview" })).toBeInTheDocument();
  });
});
