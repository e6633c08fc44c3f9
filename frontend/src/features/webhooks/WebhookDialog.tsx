import { useId, useState, type FormEvent } from "react";
import { Button, Dialog, ErrorMessage, TextField } from "@/components/ui";
import { ApiError } from "@/lib/api";
import { useSaveWebhook } from "./api";
import { EVENTS, urlProblem, type EventName, type Webhook, type WebhookInput } from "./types";

export interface WebhookDialogProps {
  open: boolean;
  webhook: Webhook | null;
  onClose: () => void;
  onSaved: (webhook: Webhook, created: boolean) => void;
}

export function WebhookDialog({ open, webhook, onClose, onSaved }: WebhookDialogProps) {
  return (
    <Dialog open={open} onClose={onClose} title={webhook ? "Edit webhook" : "Add a webhook"}>
      <WebhookForm webhook={webhook} onCancel={onClose} onSaved={onSaved} />
    </Dialog>
  );
}

function WebhookForm({
  webhook,
  onCancel,
  onSaved,
}: {
  webhook: Webhook | null;
  onCancel: () => void;
  onSaved: (webhook: Webhook, created: boolean) => void;
}) {
  const save = useSaveWebhook();
  const eventsLegendId = useId();
  const eventsErrorId = useId();
  const [input, setInput] = useState<WebhookInput>({
    url: webhook?.url ?? "",
    events: webhook?.events ?? EVENTS.map((event) => event.name),
    enabled: webhook?.enabled ?? true,
    description: webhook?.description ?? "",
  });
  const [checked, setChecked] = useState(false);

  const serverErrors = save.error instanceof ApiError ? save.error.fieldErrors : {};
  const urlError = checked ? urlProblem(input.url) : null;
  const eventsError = checked && input.events.length === 0 ? "Choose at least one event." : null;
  const urlErrors = urlError ? [urlError] : serverErrors.url;
  const eventErrors = eventsError ? [eventsError] : serverErrors.events;
  const otherError =
    save.error && !["url", "events", "description", "enabled"].some((f) => serverErrors[f])
      ? save.error
      : null;

  function toggle(name: EventName, on: boolean) {
    setInput((current) => ({
      ...current,
      events: on
        ? EVENTS.map((event) => event.name).filter(
            (event) => event === name || current.events.includes(event),
          )
        : current.events.filter((event) => event !== name),
    }));
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    setChecked(true);
    if (urlProblem(input.url) || input.events.length === 0) return;
    save.mutate(
      { id: webhook?.id ?? null, input: { ...input, url: input.url.trim() } },
      { onSuccess: (saved) => onSaved(saved, webhook === null) },
    );
  }

  return (
    <form onSubmit={submit} noValidate className="form">
      <TextField
        label="URL"
        name="url"
        type="url"
        inputMode="url"
        placeholder="https://example.com/hooks/catalog"
        required
        data-autofocus
        value={input.url}
        errors={urlErrors}
        hint="Events are POSTed here, signed with the webhook's secret (Standard Webhooks)."
        onChange={(event) => setInput({ ...input, url: event.target.value })}
        onBlur={() => setChecked(true)}
      />
      <TextField
        label="Description (optional)"
        name="description"
        maxLength={255}
        value={input.description}
        errors={serverErrors.description}
        onChange={(event) => setInput({ ...input, description: event.target.value })}
      />
      <fieldset
        className="fieldset"
        aria-describedby={eventErrors?.length ? eventsErrorId : undefined}
      >
        <legend id={eventsLegendId}>Events</legend>
        {EVENTS.map((event) => (
          <label key={event.name} className="checkbox">
            <input
              type="checkbox"
              name="events"
              value={event.name}
              checked={input.events.includes(event.name)}
              onChange={(change) => toggle(event.name, change.target.checked)}
            />
            <span>
              <code>{event.name}</code> <span className="muted">– {event.label}</span>
            </span>
          </label>
        ))}
        {eventErrors?.length ? (
          <p id={eventsErrorId} className="field__error">
            {eventErrors.join(" ")}
          </p>
        ) : null}
      </fieldset>
      <label className="checkbox">
        <input
          type="checkbox"
          name="enabled"
          checked={input.enabled}
          onChange={(event) => setInput({ ...input, enabled: event.target.checked })}
        />
        Enabled
      </label>
      <ErrorMessage error={otherError} />
      <div className="dialog__actions">
        <Button onClick={onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" busy={save.isPending}>
          {webhook ? "Save changes" : "Add webhook"}
        </Button>
      </div>
    </form>
  );
}
