import { useId } from "react";
import { Button, CopyButton, Dialog } from "@/components/ui";
import type { Webhook } from "./types";

/** The secret, shown once: the API never answers it again. */
export function SecretDialog({
  webhook,
  onClose,
}: {
  webhook: Webhook | null;
  onClose: () => void;
}) {
  const inputId = useId();
  const secret = webhook?.secret ?? "";
  return (
    <Dialog
      open={webhook !== null && Boolean(secret)}
      onClose={onClose}
      title="The webhook's secret"
      description="Copy it now and keep it with the receiver: it is shown only this once. The receiver checks each delivery's signature with it."
    >
      <div className="field">
        <label htmlFor={inputId} className="field__label">
          Secret for {webhook?.url}
        </label>
        <div className="secret">
          <input
            id={inputId}
            className="input mono"
            readOnly
            value={secret}
            onFocus={(event) => event.currentTarget.select()}
          />
          <CopyButton text={secret} />
        </div>
      </div>
      <div className="dialog__actions">
        <Button variant="primary" onClick={onClose}>
          Done
        </Button>
      </div>
    </Dialog>
  );
}
