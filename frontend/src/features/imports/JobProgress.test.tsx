import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { makeJob, makeUser } from "@/test/fixtures";
import { mockFetch, renderWithProviders } from "@/test/utils";
import { jobKey } from "./api";
import { JobProgress } from "./JobProgress";
import type { Job } from "./types";

const CANCEL_PATH = "/api/jobs/5b0c0000-0000-4000-8000-000000000001/cancel/";

describe("JobProgress", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("shows the stage in words, the rows and the percent while running", () => {
    renderWithProviders(<JobProgress job={makeJob({ message: "Parsing CSV" })} />);
    expect(screen.getByText("Parsing CSV")).toBeInTheDocument();
    expect(screen.getByText(/400 of 1,000 rows/)).toBeInTheDocument();
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "40");
    expect(screen.getByText("40 %")).toBeInTheDocument();
  });

  it("shows the counts when done, and the error report link", () => {
    renderWithProviders(
      <JobProgress
        job={makeJob({
          status: "COMPLETED",
          message: "Import complete",
          percent: 100,
          created_count: 933,
          duplicate_count: 66,
          invalid_count: 1,
          errors_url: "http://elsewhere:8000/api/jobs/x/errors.csv",
        })}
      />,
    );
    expect(screen.getByText("Created").nextSibling).toHaveTextContent("933");
    expect(screen.getByText("Invalid rows").nextSibling).toHaveTextContent("1");
    expect(screen.getByRole("link", { name: /error report/ })).toHaveAttribute(
      "href",
      "/api/jobs/x/errors.csv",
    );
  });

  it("says why it failed and offers a retry", async () => {
    const onRetry = vi.fn();
    const job = makeJob({
      status: "FAILED",
      message: "Failed",
      error_message: "Line 1: the header has no sku column.",
    });
    renderWithProviders(<JobProgress job={job} onRetry={onRetry} />);
    expect(screen.getByRole("alert")).toHaveTextContent("Line 1: the header has no sku column.");
    await userEvent.click(screen.getByRole("button", { name: "Retry" }));
    expect(onRetry).toHaveBeenCalledWith(job);
  });

  it("says its stage in the server's words, with its speed and the time left", () => {
    renderWithProviders(
      <JobProgress
        job={makeJob({
          stage: "importing",
          message: "Importing",
          processed_rows: 12_000,
          total_rows: 200_000,
          rows_per_s: 24_000.4,
          eta_s: 7.8,
        })}
      />,
    );
    expect(screen.getByText("Importing").closest("p")).toHaveTextContent(
      "Importing – 12,000 of 200,000 rows · 24,000 rows/s · about 8 s left",
    );
    // Not a status word of its own beside it ("Running").
    expect(screen.queryByText("Running")).toBeNull();
  });

  it("cancels a running job and shows the answer", async () => {
    const cancelled = makeJob({
      status: "CANCELLED",
      stage: "cancelled",
      message: "Cancelled",
      cancel_url: null,
      eta_s: null,
    });
    const calls = mockFetch((call) =>
      call.method === "POST" && call.url === CANCEL_PATH
        ? { status: 202, body: cancelled }
        : undefined,
    );
    const running = makeJob({ stage: "waiting", message: "Waiting for the job before it" });
    const { client } = renderWithProviders(<JobProgress job={running} />);
    expect(screen.getByText("Waiting for the job before it")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(client.getQueryData<Job>(jobKey(running.id))).toEqual(cancelled));
    expect(calls).toEqual([expect.objectContaining({ method: "POST", url: CANCEL_PATH })]);
  });

  it("says a cancel is under way, and offers it no more", () => {
    renderWithProviders(<JobProgress job={makeJob({ cancel_requested: true })} />);
    expect(screen.getByText("Cancelling…")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Cancel" })).toBeDisabled();
  });

  it("says why a cancel was refused", async () => {
    mockFetch(() => ({
      status: 409,
      body: { detail: "The job finished before the cancel took effect: it stays COMPLETED." },
    }));
    renderWithProviders(<JobProgress job={makeJob()} />);
    await userEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Could not cancel: The job finished before the cancel took effect: it stays COMPLETED.",
    );
  });

  it("offers Cancel only to who may act on the job", () => {
    const { unmount } = renderWithProviders(<JobProgress job={makeJob()} />, {
      user: makeUser("viewer"),
    });
    expect(screen.queryByRole("button", { name: "Cancel" })).toBeNull();
    unmount();
    renderWithProviders(<JobProgress job={makeJob({ created_by: "bob" })} />, {
      user: makeUser("editor"),
    });
    expect(screen.queryByRole("button", { name: "Cancel" })).toBeNull();
  });

  it("says a cancelled import changed nothing, and offers to run it again", async () => {
    const onRetry = vi.fn();
    const job = makeJob({ status: "CANCELLED", message: "Cancelled", cancel_url: null });
    renderWithProviders(<JobProgress job={job} onRetry={onRetry} />);
    expect(screen.getByText("Cancelled", { selector: ".badge" })).toBeInTheDocument();
    expect(screen.getByText(/Nothing was changed/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Cancel" })).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Retry" }));
    expect(onRetry).toHaveBeenCalledWith(job);
  });

  it("shows a revert's counts, its conflicts and their report", () => {
    renderWithProviders(
      <JobProgress
        job={makeJob({
          kind: "revert",
          status: "COMPLETED",
          message: "Revert complete. 3 changed since were left as they are",
          file_name: "products.csv",
          reverts: "0d000000-0000-4000-8000-000000000009",
          deleted_count: 930,
          updated_count: 67,
          conflict_count: 3,
          duration_s: 1.25,
          errors_url: "http://testserver/api/jobs/r/errors.csv",
        })}
      />,
    );
    const card = screen.getByRole("region", { name: "Progress of Revert of products.csv" });
    expect(screen.getByText("Deleted").nextSibling).toHaveTextContent("930");
    expect(screen.getByText("Given their previous values").nextSibling).toHaveTextContent("67");
    expect(screen.getByText("Conflicts").nextSibling).toHaveTextContent("3");
    expect(card).toHaveTextContent("Revert complete. 3 changed since were left as they are");
    expect(card).toHaveTextContent("by alice");
    expect(card).toHaveTextContent("took 1.3 s");
    expect(screen.getByRole("link", { name: "Download the conflicts (CSV)" })).toHaveAttribute(
      "href",
      "/api/jobs/r/errors.csv",
    );
  });
});
