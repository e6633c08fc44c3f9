import { useState } from "react";
import { Button, ErrorMessage, Switch } from "@/components/ui";
import { formatDate, formatNumber } from "@/lib/format";
import { useSaveWebhook, useTestWebhook } from "./api";
import { DeliveryLog } from "./DeliveryLog";
import type { Webhook, WebhookTestResult } from "./types";

export interface WebhookCardProps {
  webhook: Webhook;
  onEdit: (webhook: Webhook) => void;
  onDelete: (webhook: Webhook) => void;
  onRotate: (webhook: Webhook) => void;
}

export function testResultText(result: WebhookTestResult): string {
  const time =
    result.response_time_ms === null ? "" : ` in ${formatNumber(result.response_time_ms)} ms`;
  if (result.status_code !== null && result.ok) {
    return `Test delivered: the receiver answered ${result.status_code}${time}.`;
  }
  if (result.status_code !== null) {
    return `Test failed: the receiver answered ${result.status_code}${time}${result.error ? ` (${result.error})` : ""}.`;
  }
  return `Test failed: ${result.error ?? "no answer"}${time ? ` (after ${time.trim().slice(3)})` : ""}.`;
}

function lastDelivery(webhook: Webhook): string {
  if (!webhook.last_delivery_at) return "No deliveries yet.";
  const code = webhook.last_status_code === null ? "no answer" : `${webhook.last_status_code}`;
  const time =
    webhook.last_response_time_ms === null
      ? ""
      : ` in ${formatNumber(webhook.last_response_time_ms)} ms`;
  return `Last delivery ${formatDate(webhook.last_delivery_at)}: ${code}${time}.`;
}

export function WebhookCard({ webhook, onEdit, onDelete, onRotate }: WebhookCardProps) {
  const toggle = useSaveWebhook();
  const test = useTestWebhook();
  const [showLog, setShowLog] = useState(false);
  const logId = `deliveries-${webhook.id}`;
  const titleId = `webhook-${webhook.id}`;

  return (
    <li className="card webhook" aria-labelledby={titleId}>
      <div className="webhook__header">
        <h2 id={titleId} className="webhook__url">
          {webhook.url}
        </h2>
        <Switch
          label={`Enabled: ${webhook.url}`}
          checked={webhook.enabled}
          disabled={toggle.isPending}
          onChange={(enabled) => toggle.mutate({ id: webhook.id, input: { enabled } })}
        />
      </div>
      {webhook.description && <p>{webhook.description}</p>}
      <ul className="chips" aria-label="Events">
        {webhook.events.map((event) => (
          <li key={event} className="chip">
            {event}
          </li>
        ))}
      </ul>
      <p className="muted small">
        {webhook.enabled ? "Enabled" : "Disabled"}. {lastDelivery(webhook)}
        {webhook.consecutive_failures > 0 &&
          ` ${formatNumber(webhook.consecutive_failures)} failed in a row.`}
      </p>
      {webhook.disabled_reason && <p className="warning">{webhook.disabled_reason}</p>}
      <ErrorMessage error={toggle.error} prefix="Could not change it:" />

      <div className="webhook__actions">
        <Button
          size="small"
          variant="primary"
          onClick={() => test.mutate(webhook)}
          busy={test.isPending}
        >
          Test
        </Button>
        <Button
          size="small"
          aria-expanded={showLog}
          aria-controls={logId}
          onClick={() => setShowLog((shown) => !shown)}
        >
          {showLog ? "Hide deliveries" : "Deliveries"}
        </Button>
        <Button size="small" onClick={() => onEdit(webhook)}>
          Edit
        </Button>
        <Button size="small" onClick={() => onRotate(webhook)}>
          New secret
        </Button>
        <Button size="small" variant="ghost" onClick={() => onDelete(webhook)}>
          Delete
        </Button>
      </div>
      <div role="status" className="webhook__test">
        {test.isPending && "Sending a test event…"}
        {test.data && (
          <span className={test.data.ok ? "success-text" : "error-text"}>
            {testResultText(test.data)}
          </span>
        )}
        {test.error && <span className="error-text">Test failed: {test.error.message}</span>}
      </div>
      {showLog && <DeliveryLog id={logId} webhookId={webhook.id} />}
    </li>
  );
}
