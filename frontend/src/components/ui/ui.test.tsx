import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import { renderWithProviders } from "@/test/utils";
import { ConfirmDialog } from "./ConfirmDialog";
import { Dialog } from "./Dialog";
import { Switch } from "./Switch";
import { TextField } from "./TextField";

describe("TextField", () => {
  it("ties the label, the hint and the errors to the input", () => {
    renderWithProviders(
      <TextField label="SKU" hint="Unique." errors={["Already exists."]} defaultValue="x" />,
    );
    const input = screen.getByLabelText("SKU");
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(input).toHaveAccessibleDescription("Unique. Already exists.");
  });

  it("is valid without errors", () => {
    renderWithProviders(<TextField label="Name" />);
    expect(screen.getByLabelText("Name")).not.toHaveAttribute("aria-invalid");
  });
});

describe("Switch", () => {
  it("is a labelled switch that toggles with the keyboard", async () => {
    function Harness() {
      const [on, setOn] = useState(false);
      return <Switch label="Enabled" checked={on} onChange={setOn} />;
    }
    renderWithProviders(<Harness />);
    const control = screen.getByRole("switch", { name: "Enabled" });
    expect(control).not.toBeChecked();
    control.focus();
    await userEvent.keyboard(" ");
    expect(control).toBeChecked();
  });
});

describe("Dialog", () => {
  it("shows its content only while open and closes from its button", async () => {
    const onClose = vi.fn();
    const { rerender } = renderWithProviders(
      <Dialog open={false} onClose={onClose} title="Edit product">
        <p>Inside</p>
      </Dialog>,
    );
    expect(screen.queryByText("Inside")).not.toBeInTheDocument();
    rerender(
      <Dialog open onClose={onClose} title="Edit product">
        <p>Inside</p>
      </Dialog>,
    );
    expect(screen.getByRole("dialog", { name: "Edit product" })).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Close" }));
    expect(onClose).toHaveBeenCalled();
  });
});

describe("ConfirmDialog", () => {
  it("asks, and confirms only on the danger button", async () => {
    const onConfirm = vi.fn();
    renderWithProviders(
      <ConfirmDialog
        open
        title="Delete product"
        description="This cannot be undone."
        confirmLabel="Delete"
        onConfirm={onConfirm}
        onClose={vi.fn()}
      />,
    );
    const dialog = screen.getByRole("alertdialog", { name: "Delete product" });
    expect(dialog).toHaveAccessibleDescription("This cannot be undone.");
    expect(screen.getByRole("button", { name: "Cancel" })).toHaveFocus();
    await userEvent.click(screen.getByRole("button", { name: "Delete" }));
    expect(onConfirm).toHaveBeenCalledOnce();
  });
});
