import { useState, type FormEvent } from "react";
import { Button, Dialog, ErrorMessage, TextField } from "@/components/ui";
import type { Job } from "@/features/imports";
import { useBulkDelete } from "./api";

const CONFIRMATION_WORD = "DELETE";

export interface DeleteAllDialogProps {
  open: boolean;
  onClose: () => void;
  onStarted: (job: Job) => void;
}

export function DeleteAllDialog({ open, onClose, onStarted }: DeleteAllDialogProps) {
  return (
    <Dialog
      open={open}
      onClose={onClose}
      role="alertdialog"
      title="Delete all products"
      description="Are you sure? This cannot be undone. Every product in the catalog will be deleted."
    >
      <DeleteAllForm onCancel={onClose} onStarted={onStarted} />
    </Dialog>
  );
}

function DeleteAllForm({
  onCancel,
  onStarted,
}: {
  onCancel: () => void;
  onStarted: (job: Job) => void;
}) {
  const [typed, setTyped] = useState("");
  const bulkDelete = useBulkDelete();
  const confirmed = typed === CONFIRMATION_WORD;

  function submit(event: FormEvent) {
    event.preventDefault();
    if (confirmed) bulkDelete.mutate(undefined, { onSuccess: onStarted });
  }

  return (
    <form onSubmit={submit} className="form">
      <TextField
        label={`Type ${CONFIRMATION_WORD} to confirm`}
        name="confirmation"
        autoComplete="off"
        autoCapitalize="characters"
        spellCheck={false}
        data-autofocus
        value={typed}
        onChange={(event) => setTyped(event.target.value)}
      />
      <ErrorMessage error={bulkDelete.error} />
      <div className="dialog__actions">
        <Button onClick={onCancel}>Cancel</Button>
        <Button type="submit" variant="danger" disabled={!confirmed} busy={bulkDelete.isPending}>
          Delete all products
        </Button>
      </div>
    </form>
  );
}
