import { Button, ErrorMessage } from "@/components/ui";
import { formatDate, formatNumber } from "@/lib/format";
import { useDeliveries, useRedeliver } from "./api";

const STATUS_WORDS = { pending: "Sending", succeeded: "Delivered", failed: "Failed" } as const;

export function DeliveryLog({ id, webhookId }: { id: string; webhookId: number }) {
  const deliveries = useDeliveries(webhookId, true);
  const redeliver = useRedeliver(webhookId);
  const rows = deliveries.data?.results ?? [];
  return (
    <section id={id} className="deliveries" aria-label="Delivery log">
      <h3 className="small-heading">Delivery log</h3>
      <ErrorMessage error={deliveries.error} prefix="Could not load the deliveries:" />
      <ErrorMessage error={redeliver.error} prefix="Could not redeliver:" />
      {deliveries.isPending && <p className="muted">Loading…</p>}
      {deliveries.data && rows.length === 0 && <p className="muted">No deliveries yet.</p>}
      {rows.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Deliveries">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Result</th>
                <th scope="col" className="numeric">
                  Code
                </th>
                <th scope="col" className="numeric">
                  Time
                </th>
                <th scope="col" className="numeric">
                  Attempts
                </th>
                <th scope="col">When</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((delivery) => (
                <tr key={delivery.id}>
                  <td className="mono">{delivery.event}</td>
                  <td title={delivery.error || undefined}>
                    {STATUS_WORDS[delivery.status]}
                    {delivery.error && <span className="muted small"> – {delivery.error}</span>}
                  </td>
                  <td className="numeric">{delivery.status_code ?? "–"}</td>
                  <td className="numeric">
                    {delivery.duration_ms === null
                      ? "–"
                      : `${formatNumber(delivery.duration_ms)} ms`}
                  </td>
                  <td className="numeric">{formatNumber(delivery.attempts)}</td>
                  <td className="nowrap">
                    {formatDate(delivery.last_attempt_at ?? delivery.created_at)}
                  </td>
                  <td>
                    {delivery.status !== "pending" && (
                      <Button
                        size="small"
                        busy={redeliver.isPending && redeliver.variables?.id === delivery.id}
                        onClick={() => redeliver.mutate(delivery)}
                      >
                        Redeliver
                      </Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
