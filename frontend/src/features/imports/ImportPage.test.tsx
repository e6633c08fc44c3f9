import { screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { makeJob } from "@/test/fixtures";
import { mockFetch, renderWithProviders } from "@/test/utils";
import { CURRENT_IMPORT_KEY, ImportPage } from "./ImportPage";

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
      "Could not load the recent imports: The server failed.",
    );
  });
});
