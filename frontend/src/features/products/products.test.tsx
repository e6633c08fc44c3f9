import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { makeJob, makeUser } from "@/test/fixtures";
import { mockFetch, renderWithProviders } from "@/test/utils";
import { DeleteAllDialog } from "./DeleteAllDialog";
import { ProductDialog } from "./ProductDialog";
import { ProductsPage } from "./ProductsPage";
import type { Job } from "@/features/imports";
import type { Product } from "./types";

function product(id: number, overrides: Partial<Product> = {}): Product {
  return {
    id,
    sku: `SKU-${id}`,
    name: `Product ${id}`,
    description: "",
    active: true,
    created_at: "2026-01-01T10:00:00Z",
    updated_at: "2026-01-01T10:00:00Z",
    ...overrides,
  };
}

const NO_JOBS = { count: 0, next: null, previous: null, results: [] };

/** The products page's API: no delete-all to undo (`/api/jobs/`), the rest from `handler`. */
function mockProductsApi(handler: Parameters<typeof mockFetch>[0]) {
  return mockFetch((call) =>
    call.url.startsWith("/api/jobs/") ? { body: NO_JOBS } : handler(call),
  );
}

function page(products: Product[], count = products.length, next: string | null = null) {
  return { count, count_exact: true, next, previous: null, results: products };
}

describe("ProductDialog", () => {
  it("shows a duplicate SKU at the field", async () => {
    const calls = mockFetch(() => ({
      status: 400,
      body: { sku: ["A product with SKU 'lamp-1' already exists (as 'LAMP-1')."] },
    }));
    const onSaved = vi.fn();
    renderWithProviders(<ProductDialog open product={null} onClose={vi.fn()} onSaved={onSaved} />);
    await userEvent.type(screen.getByLabelText("SKU"), "lamp-1");
    await userEvent.type(screen.getByLabelText("Name"), "Lamp");
    await userEvent.click(screen.getByRole("button", { name: "Create product" }));
    const sku = screen.getByLabelText("SKU");
    await waitFor(() => expect(sku).toHaveAttribute("aria-invalid", "true"));
    expect(sku).toHaveAccessibleDescription(/already exists/);
    expect(calls[0]).toMatchObject({
      method: "POST",
      url: "/api/products/",
      body: { sku: "lamp-1", name: "Lamp", description: "", active: true },
    });
    expect(onSaved).not.toHaveBeenCalled();
  });

  it("edits with a PATCH of the product", async () => {
    const existing = product(7);
    const calls = mockFetch(() => ({ body: { ...existing, name: "Renamed" } }));
    const onSaved = vi.fn();
    renderWithProviders(
      <ProductDialog open product={existing} onClose={vi.fn()} onSaved={onSaved} />,
    );
    const name = screen.getByLabelText("Name");
    await userEvent.clear(name);
    await userEvent.type(name, "Renamed");
    await userEvent.click(screen.getByRole("button", { name: "Save changes" }));
    await waitFor(() =>
      expect(onSaved).toHaveBeenCalledWith({ ...existing, name: "Renamed" }, false),
    );
    expect(calls[0]).toMatchObject({ method: "PATCH", url: "/api/products/7/" });
  });
});

describe("DeleteAllDialog", () => {
  it("needs DELETE typed before it starts the job", async () => {
    const calls = mockFetch(() => ({ status: 202, body: makeJob({ kind: "bulk_delete" }) }));
    const onStarted = vi.fn();
    renderWithProviders(<DeleteAllDialog open onClose={vi.fn()} onStarted={onStarted} />);
    expect(screen.getByRole("alertdialog")).toHaveAccessibleDescription(
      /Are you sure\? This cannot be undone\./,
    );
    const confirm = screen.getByRole("button", { name: "Delete all products" });
    const word = screen.getByLabelText("Type DELETE to confirm");
    await userEvent.type(word, "delete");
    expect(confirm).toBeDisabled();
    await userEvent.type(word, "{Enter}");
    expect(calls).toHaveLength(0);
    await userEvent.clear(word);
    await userEvent.type(word, "DELETE");
    expect(confirm).toBeEnabled();
    await userEvent.click(confirm);
    await waitFor(() => expect(onStarted).toHaveBeenCalled());
    expect(calls[0]).toMatchObject({ method: "POST", url: "/api/products/bulk_delete/" });
  });
});

describe("ProductsPage", () => {
  afterEach(() => vi.useRealTimers());

  it("lists a page, pages on, and sorts by a column", async () => {
    const calls = mockProductsApi((call) => {
      const url = new URL(call.url, "http://x");
      const pageNumber = Number(url.searchParams.get("page") ?? "1");
      const first = (pageNumber - 1) * 25 + 1;
      const products = Array.from({ length: 25 }, (_, i) => product(first + i));
      return { body: page(products, 60, pageNumber < 3 ? "next" : null) };
    });
    renderWithProviders(<ProductsPage />, { path: "/products" });
    expect(await screen.findByText("1–25 of 60 products · page 1 of 3")).toBeInTheDocument();
    expect(screen.getAllByRole("row")).toHaveLength(26);
    expect(screen.queryByText(/Search is catching up/)).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Next" }));
    expect(await screen.findByText("26–50 of 60 products · page 2 of 3")).toBeInTheDocument();
    expect(calls.at(-1)?.url).toBe("/api/products/?page=2&page_size=25");

    await userEvent.click(screen.getByRole("button", { name: /^Name/ }));
    await waitFor(() =>
      expect(calls.at(-1)?.url).toBe("/api/products/?ordering=name&page_size=25"),
    );
    expect(screen.getByRole("columnheader", { name: /^Name/ })).toHaveAttribute(
      "aria-sort",
      "ascending",
    );
  });

  it("goes to the last page by number when the count is exact", async () => {
    const link = (ref: string) => `http://testserver/api/products/?page=${ref}&page_size=25`;
    const calls = mockProductsApi((call) => {
      const ref = new URL(call.url, "http://x").searchParams.get("page") ?? "1";
      if (ref === "last" || ref === "3") {
        const products = Array.from({ length: 10 }, (_, i) => product(51 + i));
        return { body: { ...page(products, 60), page: 3, previous: link("2") } };
      }
      const number = Number(ref);
      const products = Array.from({ length: 25 }, (_, i) => product((number - 1) * 25 + 1 + i));
      return { body: { ...page(products, 60, link(String(number + 1))), page: number } };
    });
    renderWithProviders(<ProductsPage />, { path: "/products" });
    expect(await screen.findByText("1–25 of 60 products · page 1 of 3")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Last" }));
    expect(await screen.findByText("51–60 of 60 products · page 3 of 3")).toBeInTheDocument();
    expect(calls.at(-1)?.url).toBe("/api/products/?page=last&page_size=25");
    expect(screen.getByRole("button", { name: "Next" })).toBeDisabled();
    expect(screen.getByRole("button", { name: "Last" })).toBeDisabled();
    await userEvent.click(screen.getByRole("button", { name: "Previous" }));
    expect(await screen.findByText("26–50 of 60 products · page 2 of 3")).toBeInTheDocument();
    expect(calls.at(-1)?.url).toBe("/api/products/?page=2&page_size=25");
  });

  it("reads an estimated list from its end: Last, then Previous counts from the end", async () => {
    const link = (ref: string) =>
      `http://testserver/api/products/?name=lamp&page=${ref}&page_size=25`;
    const estimated = (products: Product[], fields: object) => ({
      ...page(products, 12345),
      count_exact: false,
      ...fields,
    });
    const calls = mockProductsApi((call) => {
      const ref = new URL(call.url, "http://x").searchParams.get("page") ?? "1";
      const products = Array.from({ length: 5 }, (_, i) => product(i + 1, { sku: `${ref}-${i}` }));
      if (ref === "last")
        return { body: estimated(products, { page: null, previous: link("last-1") }) };
      if (ref === "last-1")
        return {
          body: estimated(products, { page: null, next: link("last"), previous: link("last-2") }),
        };
      if (ref === "last-2")
        return {
          body: estimated(products, { page: null, next: link("last-1"), previous: link("last-3") }),
        };
      return { body: estimated(products, { page: 1, next: link("2") }) };
    });
    renderWithProviders(<ProductsPage />, { path: "/products?name=lamp" });
    expect(
      await screen.findByText("1–25 of about 12,345 products · page 1 of about 494"),
    ).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Last" }));
    expect(
      await screen.findByText("Last 5 of about 12,345 products · last page"),
    ).toBeInTheDocument();
    expect(calls.at(-1)?.url).toBe("/api/products/?name=lamp&page=last&page_size=25");
    expect(screen.getByRole("cell", { name: "last-0" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Next" })).toBeDisabled();
    expect(screen.getByRole("button", { name: "Last" })).toBeDisabled();

    await userEvent.click(screen.getByRole("button", { name: "Previous" }));
    expect(
      await screen.findByText("5 of about 12,345 products · page 2 from the end"),
    ).toBeInTheDocument();
    expect(calls.at(-1)?.url).toBe("/api/products/?name=lamp&page=last-1&page_size=25");
    await userEvent.click(screen.getByRole("button", { name: "Previous" }));
    expect(
      await screen.findByText("5 of about 12,345 products · page 3 from the end"),
    ).toBeInTheDocument();
    expect(calls.at(-1)?.url).toBe("/api/products/?name=lamp&page=last-2&page_size=25");
    await userEvent.click(screen.getByRole("button", { name: "Next" }));
    expect(
      await screen.findByText("5 of about 12,345 products · page 2 from the end"),
    ).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "First" }));
    expect(
      await screen.findByText("1–25 of about 12,345 products · page 1 of about 494"),
    ).toBeInTheDocument();
    expect(calls.at(-1)?.url).toBe("/api/products/?name=lamp&page_size=25");
  });

  it.each([
    ["/products?page=last-3", "/api/products/?page=last-3&page_size=25"],
    ["/products?page=last", "/api/products/?page=last&page_size=25"],
    ["/products?page=7", "/api/products/?page=7&page_size=25"],
    ["/products?page=last-0", "/api/products/?page_size=25"],
    ["/products?page=-2", "/api/products/?page_size=25"],
  ])("asks for the page of the address %s", async (path, url) => {
    const calls = mockProductsApi(() => ({ body: page([product(1)]) }));
    renderWithProviders(<ProductsPage />, { path });
    await screen.findByRole("cell", { name: "SKU-1" });
    expect(calls.find((call) => call.url.startsWith("/api/products/"))?.url).toBe(url);
  });

  it("says when the search is catching up with an import", async () => {
    mockProductsApi(() => ({ body: { ...page([product(1)]), search_catching_up: true } }));
    renderWithProviders(<ProductsPage />, { path: "/products?search=lamp" });
    expect(
      await screen.findByText(/^Search is catching up with a large import/),
    ).toBeInTheDocument();
  });

  it("keeps the page on screen while the next one loads", async () => {
    let release: () => void = () => undefined;
    mockProductsApi((call) =>
      call.url.includes("page=2") ? undefined : { body: page([product(1)], 30, "next") },
    );
    // Page 2 answers only when released.
    const original = globalThis.fetch;
    vi.stubGlobal(
      "fetch",
      vi.fn((input: RequestInfo | URL, init?: RequestInit) =>
        String(input).includes("page=2")
          ? new Promise<Response>((resolve) => {
              release = () =>
                resolve(
                  new Response(JSON.stringify(page([product(26)], 30)), {
                    headers: { "Content-Type": "application/json" },
                  }),
                );
            })
          : original(input, init),
      ),
    );
    renderWithProviders(<ProductsPage />, { path: "/products" });
    expect(await screen.findByRole("cell", { name: "SKU-1" })).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Next" }));
    expect(screen.getByRole("cell", { name: "SKU-1" })).toBeInTheDocument();
    expect(screen.getByRole("table")).toHaveAttribute("aria-busy", "true");
    act(() => release());
    expect(await screen.findByRole("cell", { name: "SKU-26" })).toBeInTheDocument();
  });

  it("debounces the search box", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
    const calls = mockProductsApi(() => ({ body: page([product(1)]) }));
    renderWithProviders(<ProductsPage />, { path: "/products" });
    await screen.findByRole("cell", { name: "SKU-1" });
    const before = calls.length;
    await user.type(screen.getByLabelText("Search"), "lamp");
    expect(calls.length).toBe(before);
    await act(() => vi.advanceTimersByTimeAsync(350));
    await waitFor(() => expect(calls.at(-1)?.url).toBe("/api/products/?search=lamp&page_size=25"));
    expect(calls.filter((call) => call.url.includes("search="))).toHaveLength(1);
  });

  it("says a network failure in words", async () => {
    vi.stubGlobal("fetch", vi.fn().mockRejectedValue(new TypeError("Failed to fetch")));
    renderWithProviders(<ProductsPage />, { path: "/products" });
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Could not load the products: Could not reach the server.",
    );
  });
});

describe("Undo of a delete-all", () => {
  afterEach(() => vi.unstubAllGlobals());

  const DELETE_ID = "de000000-0000-4000-8000-000000000001";
  const UNDO_ID = "ed000000-0000-4000-8000-000000000002";
  const DELETED = makeJob({
    id: DELETE_ID,
    kind: "bulk_delete",
    status: "COMPLETED",
    stage: "done",
    message: "Delete complete",
    file_name: "",
    percent: 100,
    deleted_count: 1000,
    finished_at: "2026-01-01T10:00:05Z",
    cancel_url: null,
    revertible: true,
    revert_until: "2099-01-08T10:00:05Z",
    revert_url: `http://testserver/api/jobs/${DELETE_ID}/revert/`,
  });
  const UNDOING = makeJob({
    id: UNDO_ID,
    kind: "revert",
    status: "PENDING",
    stage: "queued",
    message: "Queued",
    file_name: "",
    processed_rows: 0,
    reverts: DELETE_ID,
  });
  const UNDONE = {
    ...UNDOING,
    status: "COMPLETED" as const,
    stage: "done",
    message: "Revert complete",
    percent: 100,
    created_count: 1000,
    cancel_url: null,
  };

  it("offers Undo once a delete-all is done, and brings the products back", async () => {
    vi.stubGlobal("EventSource", undefined);
    // What the server holds: the catalog, the delete (once asked) and its undo (once asked).
    let deleted: Job | null = null;
    let undone = false;
    const calls = mockFetch((call) => {
      if (call.method === "POST" && call.url === "/api/products/bulk_delete/") {
        deleted = { ...DELETED, status: "PENDING", message: "Queued", revertible: false };
        return { status: 202, body: deleted };
      }
      if (call.url === `/api/job/${DELETE_ID}/status/`) {
        deleted = DELETED;
        return { body: DELETED };
      }
      if (call.method === "POST" && call.url === `/api/jobs/${DELETE_ID}/revert/`) {
        deleted = { ...DELETED, revertible: false, revert_url: null, reverted_by: UNDO_ID };
        return { status: 202, body: UNDOING };
      }
      if (call.url === `/api/job/${UNDO_ID}/status/`) {
        undone = true;
        return { body: UNDONE };
      }
      if (call.url.startsWith("/api/jobs/?")) {
        return {
          body: {
            count: deleted ? 1 : 0,
            next: null,
            previous: null,
            results: deleted ? [deleted] : [],
          },
        };
      }
      if (call.url.startsWith("/api/products/")) {
        return {
          body: page(deleted && !undone ? [] : [product(1)], deleted && !undone ? 0 : 1000),
        };
      }
      return undefined;
    });
    renderWithProviders(<ProductsPage />, { path: "/products" });
    expect(await screen.findByRole("cell", { name: "SKU-1" })).toBeInTheDocument();
    expect(screen.queryByRole("region", { name: "Undo delete all" })).toBeNull();

    await userEvent.click(screen.getByRole("button", { name: "Delete all…" }));
    await userEvent.type(screen.getByLabelText("Type DELETE to confirm"), "DELETE");
    await userEvent.click(screen.getByRole("button", { name: "Delete all products" }));
    expect(
      await screen.findByText("Deleted 1,000 products.", {}, { timeout: 3000 }),
    ).toBeInTheDocument();
    const notice = await screen.findByRole("region", { name: "Undo delete all" });
    expect(notice).toHaveTextContent(
      "1,000 products were deleted by Delete all on 1 Jan 2026, 10:00 (alice). Undo brings them back, until 8 Jan 2099, 10:00.",
    );
    expect(await screen.findByText("No products yet: import a CSV.")).toBeInTheDocument();

    await userEvent.click(within(notice).getByRole("button", { name: "Undo" }));
    const progress = await screen.findByRole("region", { name: "Progress of Undo delete all" });
    expect(screen.queryByRole("region", { name: "Undo delete all" })).toBeNull();
    expect(
      await within(progress).findByText("Revert complete", {}, { timeout: 3000 }),
    ).toBeVisible();
    expect(await screen.findByText("Brought back 1,000 products.")).toBeInTheDocument();
    expect(await screen.findByRole("cell", { name: "SKU-1" })).toBeInTheDocument();
    expect(calls.filter((call) => call.method === "POST")).toEqual([
      expect.objectContaining({ url: "/api/products/bulk_delete/" }),
      expect.objectContaining({ url: `/api/jobs/${DELETE_ID}/revert/`, body: { force: false } }),
    ]);
  });

  it("is not offered once the delete cannot be reverted, nor to whom may not", async () => {
    const answer = (job: Job) =>
      mockFetch((call) =>
        call.url.startsWith("/api/jobs/?")
          ? { body: { count: 1, next: null, previous: null, results: [job] } }
          : { body: page([product(1)]) },
      );
    const calls = answer({ ...DELETED, revertible: false, revert_url: null });
    const { unmount } = renderWithProviders(<ProductsPage />, { path: "/products" });
    expect(await screen.findByRole("cell", { name: "SKU-1" })).toBeInTheDocument();
    await waitFor(() =>
      expect(calls.map((call) => call.url)).toContain(
        "/api/jobs/?page_size=1&kind=bulk_delete&status=COMPLETED",
      ),
    );
    expect(screen.queryByRole("region", { name: "Undo delete all" })).toBeNull();
    unmount();

    answer(DELETED);
    renderWithProviders(<ProductsPage />, { path: "/products", user: makeUser("editor") });
    expect(await screen.findByRole("cell", { name: "SKU-1" })).toBeInTheDocument();
    expect(screen.queryByRole("region", { name: "Undo delete all" })).toBeNull();
  });
});
