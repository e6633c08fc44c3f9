import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { makeJob } from "@/test/fixtures";
import { renderWithProviders } from "@/test/utils";
import { JobProgress } from "./JobProgress";

describe("JobProgress", () => {
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
});
