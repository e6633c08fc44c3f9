import { describe, expect, it } from "vitest";
import { makeJob } from "@/test/fixtures";
import { jobName, revertEffect, stateWords } from "./words";

describe("words", () => {
  it("names a job after its file, a delete-all, or what its revert puts back", () => {
    expect(jobName(makeJob())).toBe("products.csv");
    expect(jobName(makeJob({ kind: "bulk_delete", file_name: "" }))).toBe("Delete all products");
    expect(jobName(makeJob({ kind: "revert" }))).toBe("Revert of products.csv");
    expect(jobName(makeJob({ kind: "revert", file_name: "" }))).toBe(
      "Revert of Delete all products",
    );
  });

  it("says a revert's effect in numbers, one product or many", () => {
    const imported = makeJob({ status: "COMPLETED", created_count: 1, updated_count: 1 });
    expect(revertEffect(imported)).toBe(
      "1 product created by this import will be deleted; 1 will get its previous values back.",
    );
    expect(revertEffect({ ...imported, created_count: 466_693, updated_count: 0 })).toBe(
      "466,693 products created by this import will be deleted; 0 will get their previous values back.",
    );
    expect(revertEffect(makeJob({ kind: "bulk_delete", deleted_count: 1 }))).toBe(
      "1 deleted product will be brought back.",
    );
  });

  it("says where a job is: its stage while it runs, how it ended after", () => {
    expect(
      stateWords(makeJob({ status: "PENDING", message: "Waiting for the job before it" })),
    ).toBe("Waiting for the job before it");
    expect(stateWords(makeJob({ cancel_requested: true }))).toBe("Cancelling…");
    expect(stateWords(makeJob({ status: "PENDING", message: "" }))).toBe("Queued");
    expect(stateWords(makeJob({ status: "CANCELLED", message: "Cancelled" }))).toBe("Cancelled");
    expect(stateWords(makeJob({ status: "COMPLETED", message: "Import complete" }))).toBe("Done");
  });
});
