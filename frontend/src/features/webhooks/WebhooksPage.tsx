import { useState } from "react";
import { Button, ConfirmDialog, ErrorMessage, useNotify } from "@/components/ui";
import { onlyFor, useAccess } from "@/features/auth";
import { useDeleteWebhook, useRotateSecret, useWebhooks } from "./api";
import { SecretDialog } from "./SecretDialog";
import type { Webhook } from "./types";
import { WebhookCard } from "./WebhookCard";
import { WebhookDialog } from "./WebhookDialog";

const ABOUT =
  "Other systems hear about catalog changes here: each event is POSTed to the webhook's URL, " +
  "signed with its secret. An import sends one event, never one per row.";

export function WebhooksPage() {
  const access = useAccess();
  if (!access.can("webhooks.view_webhook")) {
    // Webhooks send every change to a URL of their choosing: an admin's alone.
    return (
      <main id="main" className="page">
        <h1>Webhooks</h1>
        <p className="muted">{ABOUT}</p>
        <p className="note">{onlyFor("admin", "see and manage webhooks", access.role)}</p>
      </main>
    );
  }
  return <Webhooks />;
}

function Webhooks() {
  const notify = useNotify();
  const webhooks = useWebhooks();
  const remove = useDeleteWebhook();
  const rotate = useRotateSecret();
  const [editing, setEditing] = useState<{ webhook: Webhook | null } | null>(null);
  const [deleting, setDeleting] = useState<Webhook | null>(null);
  const [rotating, setRotating] = useState<Webhook | null>(null);
  const [withSecret, setWithSecret] = useState<Webhook | null>(null);

  const list = webhooks.data?.results ?? [];
  return (
    <main id="main" className="page">
      <div className="page__header">
        <h1>Webhooks</h1>
        <div className="page__actions">
          <Button variant="primary" onClick={() => setEditing({ webhook: null })}>
            Add a webhook
          </Button>
        </div>
      </div>
      <p className="muted">{ABOUT}</p>
      <ErrorMessage error={webhooks.error} prefix="Could not load the webhooks:" />
      {webhooks.isPending && <p className="muted">Loading webhooks…</p>}
      {webhooks.data && list.length === 0 && <p className="empty">No webhooks yet.</p>}
      {list.length > 0 && (
        <ul className="webhooks" aria-label="Webhooks">
          {list.map((webhook) => (
            <WebhookCard
              key={webhook.id}
              webhook={webhook}
              onEdit={(chosen) => setEditing({ webhook: chosen })}
              onDelete={setDeleting}
              onRotate={setRotating}
            />
          ))}
        </ul>
      )}

      <WebhookDialog
        open={editing !== null}
        webhook={editing?.webhook ?? null}
        onClose={() => setEditing(null)}
        onSaved={(saved, created) => {
          setEditing(null);
          if (created) setWithSecret(saved);
          else notify("success", `Saved the webhook for ${saved.url}.`);
        }}
      />
      <SecretDialog webhook={withSecret} onClose={() => setWithSecret(null)} />
      <ConfirmDialog
        open={deleting !== null}
        title="Delete webhook"
        description={
          <>
            Delete the webhook for <strong>{deleting?.url}</strong>? It will receive no more events,
            and its delivery log goes with it.
          </>
        }
        confirmLabel="Delete"
        busy={remove.isPending}
        error={remove.error}
        onClose={() => {
          setDeleting(null);
          remove.reset();
        }}
        onConfirm={() =>
          deleting &&
          remove.mutate(deleting, {
            onSuccess: () => {
              notify("success", `Deleted the webhook for ${deleting.url}.`);
              setDeleting(null);
            },
          })
        }
      />
      <ConfirmDialog
        open={rotating !== null}
        title="New secret"
        description={
          <>
            Make a new secret for <strong>{rotating?.url}</strong>? The old one stops working at
            once: the receiver needs the new one.
          </>
        }
        confirmLabel="Make a new secret"
        busy={rotate.isPending}
        error={rotate.error}
        onClose={() => {
          setRotating(null);
          rotate.reset();
        }}
        onConfirm={() =>
          rotating &&
          rotate.mutate(rotating, {
            onSuccess: (webhook) => {
              setRotating(null);
              setWithSecret(webhook);
            },
          })
        }
      />
    </main>
  );
}
