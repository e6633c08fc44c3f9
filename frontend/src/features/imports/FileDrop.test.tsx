import { fireEvent, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { renderWithProviders } from "@/test/utils";
import { FileDrop, isAcceptedFile } from "./FileDrop";

describe("FileDrop", () => {
  it("accepts .csv and .csv.gz in any letter case", () => {
    expect(isAcceptedFile("products.CSV")).toBe(true);
    expect(isAcceptedFile("products.csv.gz")).toBe(true);
    expect(isAcceptedFile("products.xlsx")).toBe(false);
    expect(isAcceptedFile("products.gz")).toBe(false);
  });

  it("takes a file chosen with the labelled input", async () => {
    const onFile = vi.fn();
    renderWithProviders(<FileDrop onFile={onFile} />);
    const file = new File(["sku,name\n"], "catalog.csv", { type: "text/csv" });
    await userEvent.upload(screen.getByLabelText("Choose a file"), file);
    expect(onFile).toHaveBeenCalledWith(file);
  });

  it("takes a dropped file and refuses another kind in words", () => {
    const onFile = vi.fn();
    const { container } = renderWithProviders(<FileDrop onFile={onFile} />);
    const zone = container.querySelector(".dropzone")!;
    const sheet = new File(["x"], "catalog.xlsx");
    fireEvent.drop(zone, { dataTransfer: { files: [sheet] } });
    expect(onFile).not.toHaveBeenCalled();
    expect(screen.getByRole("alert")).toHaveTextContent(
      '"catalog.xlsx" is not a .csv or .csv.gz file.',
    );
    const csv = new File(["x"], "catalog.csv.gz");
    fireEvent.drop(zone, { dataTransfer: { files: [csv] } });
    expect(onFile).toHaveBeenCalledWith(csv);
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });
});
