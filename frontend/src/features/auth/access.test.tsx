import { screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ImportPage, JobProgress } from "@/features/imports";
import { ProductsPage } from "@/features/products";
import { WebhooksPage } from "@/features/webhooks";
import { makeJob, makeUser } from "@/test/fixtures";
import { mockFetch, renderWithProviders } from "@/test/utils";
import { accessOf } from "./access";

const PRODUCT = {
  id: 7,
  sku: "LAMP-1",
  name: "Lamp",
  description: "",
  active: true,
  created_at: "2026-01-01T10:00:00Z",
  updated_at: "2026-01-01T10:00:00Z",
};
const ONE_PRODUCT = { count: 1, count_exact: true, next: null, previous: null, results: [PRODUCT] };
const NO_JOBS = { count: 0, count_exact: true, next: null, previous: null, results: [] };

function answerProducts() {
  return mockFetch((call) => {
    if (call.url.startsWith("/api/products/")) return { body: ONE_PRODUCT };
    if (call.url.startsWith("/api/jobs/")) return { body: NO_JOBS };
    return undefined;
  });
}

describe("accessOf", () => {
  const mine = { created_by: "alice" };
  const theirs = { created_by: "bob" };
  const nobodys = { created_by: null };

  it("lets an editor act on its own jobs only, and an admin on any", () => {
    const editor = accessOf(makeUser("editor"));
    expect([editor.canActOn(mine), editor.canActOn(theirs), editor.canActOn(nobodys)]).toEqual([
      true,
      false,
      false,
    ]);
    expect([editor.canReadFilesOf(mine), editor.canReadFilesOf(theirs)]).toEqual([true, false]);
    const admin = accessOf(makeUser("admin"));
    expect([admin.canActOn(theirs), admin.canReadFilesOf(nobodys)]).toEqual([true, true]);
  });

  it("gives a viewer reads only, and an account without a role nothing", () => {
    const viewer = accessOf(makeUser("viewer"));
    expect(viewer.can("products.view_product")).toBe(true);
    expect(viewer.can("imports.import_products")).toBe(false);
    expect(viewer.canActOn(mine)).toBe(false);
    const nobody = accessOf(makeUser(null));
    expect([nobody.role, nobody.can("products.view_product")]).toEqual([null, false]);
    expect(accessOf(null).can("products.view_product")).toBe(false);
  });
});

describe("The pages, by role", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("shows a viewer the product actions disabled, and says why", async () => {
    answerProducts();
    renderWithProviders(<ProductsPage />, { path: "/products", user: makeUser("viewer") });
    expect(await screen.findByRole("cell", { name: "LAMP-1" })).toBeInTheDocument();
    const add = screen.getByRole("button", { name: "New product" });
    expect(add).toBeDisabled();
    expect(add).toHaveAccessibleDescription(
      "Only an editor or an admin can add, edit or delete products (your role: viewer).",
    );
    const deleteAll = screen.getByRole("button", { name: "Delete all…" });
    expect(deleteAll).toBeDisabled();
    expect(deleteAll).toHaveAccessibleDescription(
      "Only an admin can delete all products (your role: viewer).",
    );
    const table = screen.getByRole("table");
    expect(within(table).queryByRole("button", { name: /Edit|Delete/ })).toBeNull();
    // Reading stays: the export is there.
    expect(screen.getByRole("link", { name: "Export CSV" })).toBeInTheDocument();
  });

  it("lets an editor write products but not delete them all", async () => {
    answerProducts();
    renderWithProviders(<ProductsPage />, { path: "/products", user: makeUser("editor") });
    expect(await screen.findByRole("button", { name: /^Edit\s*LAMP-1$/ })).toBeEnabled();
    expect(screen.getByRole("button", { name: /^Delete\s*LAMP-1$/ })).toBeEnabled();
    expect(screen.getByRole("button", { name: "New product" })).toBeEnabled();
    expect(screen.getByRole("button", { name: "Delete all…" })).toHaveAccessibleDescription(
      "Only an admin can delete all products (your role: editor).",
    );
  });

  it("shows a viewer the import's file chooser disabled, and says why", async () => {
    answerProducts();
    renderWithProviders(<ImportPage />, { path: "/imports", user: makeUser("viewer") });
    expect(await screen.findByText("No jobs yet.")).toBeInTheDocument();
    const chooser = screen.getByLabelText("Choose a file");
    expect(chooser).toBeDisabled();
    expect(chooser).toHaveAccessibleDescription(
      /Only an editor or an admin can import products \(your role: viewer\)\./,
    );
  });

  it("offers an editor no retry nor error report of another user's import", () => {
    const theirs = makeJob({
      status: "FAILED",
      error_message: "The worker stopped.",
      created_by: "bob",
      errors_url: "http://testserver/api/jobs/x/errors.csv",
    });
    const onRetry = vi.fn();
    const { unmount } = renderWithProviders(<JobProgress job={theirs} onRetry={onRetry} />, {
      user: makeUser("editor"),
    });
    expect(screen.queryByRole("button", { name: "Retry" })).toBeNull();
    expect(
      screen.getByText("Only an admin, or the user who started it, can retry this job."),
    ).toBeInTheDocument();
    expect(screen.queryByRole("link", { name: /error report/ })).toBeNull();
    unmount();
    // Its own, it may.
    renderWithProviders(
      <JobProgress job={{ ...theirs, created_by: "alice" }} onRetry={onRetry} />,
      {
        user: makeUser("editor"),
      },
    );
    expect(screen.getByRole("button", { name: "Retry" })).toBeEnabled();
    expect(screen.getByRole("link", { name: /error report/ })).toBeInTheDocument();
  });

  it("tells a non-admin that webhooks are an admin's, without asking for them", () => {
    const calls = mockFetch(() => undefined);
    renderWithProviders(<WebhooksPage />, { path: "/webhooks", user: makeUser("editor") });
    expect(
      screen.getByText("Only an admin can see and manage webhooks (your role: editor)."),
    ).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Add a webhook" })).toBeNull();
    expect(calls).toEqual([]);
  });

  it("tells an account without a role to ask for one", async () => {
    answerProducts();
    renderWithProviders(<ProductsPage />, { path: "/products", user: makeUser(null) });
    expect(await screen.findByRole("button", { name: "New product" })).toHaveAccessibleDescription(
      /your account has no role: ask an admin for one/,
    );
  });
});
