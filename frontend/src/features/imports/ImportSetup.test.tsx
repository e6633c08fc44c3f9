import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { mockFetch, renderWithProviders } from "@/test/utils";
import { ImportSetup, type ChosenFile } from "./ImportSetup";
import type { ImportProfile } from "./types";

const CHOSEN: ChosenFile = {
  file: new File(["..."], "supplier.csv"),
  sample: {
    columns: ["Item Code", "Product Name", "Colour"],
    rows: [
      ["A-1", "Chair", "red"],
      ["A-2", "Desk", "oak"],
    ],
  },
  readError: null,
};

const PROFILE: ImportProfile = {
  id: 7,
  name: "Supplier X",
  mapping: { "Item Code": "sku", "Product Name": "name", Colour: "description" },
  on_error: "abort",
  update_existing: false,
  created_at: "2026-01-01T10:00:00Z",
  updated_at: "2026-01-01T10:00:00Z",
};

function page<T>(results: T[]) {
  return { count: results.length, next: null, previous: null, results };
}

function setup(chosen: ChosenFile = CHOSEN) {
  const onSubmit = vi.fn();
  renderWithProviders(<ImportSetup chosen={chosen} onSubmit={onSubmit} onCancel={vi.fn()} />);
  return onSubmit;
}

function shownRows() {
  const table = screen.getByRole("region", { name: "The first rows as imported" });
  return within(table)
    .getAllByRole("row")
    .slice(1)
    .map((row) =>
      within(row)
        .getAllByRole("cell")
        .map((cell) => cell.textContent),
    );
}

describe("ImportSetup", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("guesses each column as the server would, and imports what the user mapped", async () => {
    mockFetch(() => ({ body: page([]) }));
    const onSubmit = setup();
    expect(screen.getByLabelText("Item Code")).toHaveValue("sku");
    expect(screen.getByLabelText("Product Name")).toHaveValue("name");
    expect(screen.getByLabelText("Colour")).toHaveValue("");
    expect(shownRows()).toEqual([
      ["A-1", "Chair", "", ""],
      ["A-2", "Desk", "", ""],
    ]);

    await userEvent.selectOptions(screen.getByLabelText("Colour"), "Description");
    expect(shownRows()[0]).toEqual(["A-1", "Chair", "red", ""]);
    await userEvent.click(screen.getByLabelText("Abort the whole import"));
    await userEvent.click(screen.getByRole("button", { name: "Preview changes" }));
    expect(onSubmit).toHaveBeenLastCalledWith({
      dryRun: true,
      mapping: { "Item Code": "sku", "Product Name": "name", Colour: "description" },
      on_error: "abort",
      update_existing: true,
      profile: null,
    });
    await userEvent.click(screen.getByLabelText("Leave them as they are (create only)"));
    await userEvent.click(screen.getByRole("button", { name: "Import now" }));
    expect(onSubmit).toHaveBeenLastCalledWith(
      expect.objectContaining({ dryRun: false, on_error: "abort", update_existing: false }),
    );
  });

  it("says which columns fill one field twice, and waits until it is fixed", async () => {
    mockFetch(() => ({ body: page([]) }));
    setup();
    await userEvent.selectOptions(screen.getByLabelText("Colour"), "SKU");
    expect(screen.getByLabelText("Colour")).toHaveAttribute("aria-invalid", "true");
    expect(
      screen.getByText('"Item Code" and "Colour" are both mapped to sku: choose one of them.'),
    ).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Preview changes" })).toBeDisabled();
    expect(screen.getByRole("button", { name: "Import now" })).toBeDisabled();

    await userEvent.selectOptions(screen.getByLabelText("Item Code"), "Ignore");
    await userEvent.selectOptions(screen.getByLabelText("Product Name"), "Ignore");
    expect(screen.getByText(/No column is mapped to name/)).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByLabelText("Product Name"), "Name");
    expect(screen.queryByText(/are both mapped/)).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Import now" })).toBeEnabled();
  });

  it("applies a saved profile's mapping and options, and sends its id", async () => {
    mockFetch((call) =>
      call.url.startsWith("/api/import-profiles/") ? { body: page([PROFILE]) } : undefined,
    );
    const onSubmit = setup();
    const picker = screen.getByLabelText("Saved profile");
    await screen.findByRole("option", { name: "Supplier X" });
    await userEvent.selectOptions(picker, "Supplier X");
    expect(screen.getByLabelText("Colour")).toHaveValue("description");
    expect(screen.getByLabelText("Abort the whole import")).toBeChecked();
    expect(screen.getByLabelText("Leave them as they are (create only)")).toBeChecked();
    await userEvent.click(screen.getByRole("button", { name: "Import now" }));
    expect(onSubmit).toHaveBeenCalledWith({
      dryRun: false,
      mapping: PROFILE.mapping,
      on_error: "abort",
      update_existing: false,
      profile: 7,
    });
  });

  it("saves the mapping and options as a profile, refusing a name taken", async () => {
    let taken = true;
    const calls = mockFetch((call) => {
      if (call.method === "GET") return { body: page([]) };
      if (taken) return { status: 400, body: { name: ["A profile with this name exists."] } };
      return { status: 201, body: { ...PROFILE, id: 8, name: "Supplier Y" } };
    });
    const onSubmit = setup();
    await userEvent.selectOptions(screen.getByLabelText("Colour"), "Description");
    await userEvent.click(screen.getByRole("button", { name: "Save as a profile" }));
    const dialog = screen.getByRole("dialog", { name: "Save as a profile" });
    await userEvent.type(within(dialog).getByLabelText("Profile name"), "Supplier Y");
    await userEvent.click(within(dialog).getByRole("button", { name: "Save profile" }));
    expect(await within(dialog).findByText("A profile with this name exists.")).toBeInTheDocument();

    taken = false;
    await userEvent.click(within(dialog).getByRole("button", { name: "Save profile" }));
    await vi.waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    const posts = calls.filter((call) => call.method === "POST");
    expect(posts.map((call) => call.url)).toEqual([
      "/api/import-profiles/",
      "/api/import-profiles/",
    ]);
    expect(posts[1]!.body).toEqual({
      name: "Supplier Y",
      mapping: { "Item Code": "sku", "Product Name": "name", Colour: "description" },
      on_error: "skip",
      update_existing: true,
    });
    await userEvent.click(screen.getByRole("button", { name: "Preview changes" }));
    expect(onSubmit).toHaveBeenCalledWith(expect.objectContaining({ profile: 8 }));
  });

  it("leaves the columns to the server when the browser cannot read them", async () => {
    mockFetch(() => ({ body: page([]) }));
    const onSubmit = setup({
      file: CHOSEN.file,
      sample: null,
      readError: new Error("This browser cannot decompress a .gz file to show its columns."),
    });
    expect(screen.getByRole("alert")).toHaveTextContent(
      "the server will recognise them from the header: This browser cannot decompress",
    );
    await userEvent.click(screen.getByRole("button", { name: "Import now" }));
    expect(onSubmit).toHaveBeenCalledWith(expect.objectContaining({ mapping: null }));
  });
});
