import { useState, type FormEvent } from "react";
import { Button, Dialog, ErrorMessage, TextField } from "@/components/ui";
import { ApiError } from "@/lib/api";
import { useSaveProduct } from "./api";
import type { Product, ProductInput } from "./types";

export interface ProductDialogProps {
  open: boolean;
  /** The product to edit, or null to create one. */
  product: Product | null;
  onClose: () => void;
  onSaved: (product: Product, created: boolean) => void;
}

export function ProductDialog({ open, product, onClose, onSaved }: ProductDialogProps) {
  return (
    <Dialog open={open} onClose={onClose} title={product ? "Edit product" : "New product"}>
      <ProductForm product={product} onCancel={onClose} onSaved={onSaved} />
    </Dialog>
  );
}

function ProductForm({
  product,
  onCancel,
  onSaved,
}: {
  product: Product | null;
  onCancel: () => void;
  onSaved: (product: Product, created: boolean) => void;
}) {
  const save = useSaveProduct();
  const [input, setInput] = useState<ProductInput>({
    sku: product?.sku ?? "",
    name: product?.name ?? "",
    description: product?.description ?? "",
    active: product?.active ?? true,
  });
  const fieldErrors = save.error instanceof ApiError ? save.error.fieldErrors : {};
  const knownFields = ["sku", "name", "description", "active"];
  const otherError =
    save.error && !knownFields.some((field) => fieldErrors[field]) ? save.error : null;

  function submit(event: FormEvent) {
    event.preventDefault();
    save.mutate(
      { id: product?.id ?? null, input },
      { onSuccess: (saved) => onSaved(saved, product === null) },
    );
  }

  const set = <K extends keyof ProductInput>(key: K, value: ProductInput[K]) =>
    setInput((current) => ({ ...current, [key]: value }));

  return (
    <form onSubmit={submit} noValidate className="form">
      <TextField
        label="SKU"
        name="sku"
        required
        maxLength={255}
        data-autofocus
        value={input.sku}
        errors={fieldErrors.sku}
        hint="Unique in any letter case."
        onChange={(event) => set("sku", event.target.value)}
      />
      <TextField
        label="Name"
        name="name"
        required
        maxLength={255}
        value={input.name}
        errors={fieldErrors.name}
        onChange={(event) => set("name", event.target.value)}
      />
      <TextField
        label="Description"
        name="description"
        multiline
        rows={4}
        value={input.description}
        errors={fieldErrors.description}
        onChange={(event) => set("description", event.target.value)}
      />
      <label className="checkbox">
        <input
          type="checkbox"
          name="active"
          checked={input.active}
          onChange={(event) => set("active", event.target.checked)}
        />
        Active
      </label>
      <ErrorMessage error={otherError} />
      <div className="dialog__actions">
        <Button onClick={onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" busy={save.isPending}>
          {product ? "Save changes" : "Create product"}
        </Button>
      </div>
    </form>
  );
}
