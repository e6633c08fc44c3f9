export interface ProgressBarProps {
  /** 0-100, or null while unknown. */
  value: number | null;
  label: string;
  valueText?: string;
  tone?: "normal" | "success" | "danger";
}

export function ProgressBar({ value, label, valueText, tone = "normal" }: ProgressBarProps) {
  const clamped = value === null ? null : Math.max(0, Math.min(100, value));
  return (
    <div
      className={`progress progress--${tone}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={clamped ?? undefined}
      aria-valuetext={valueText}
    >
      <div
        className={clamped === null ? "progress__bar progress__bar--unknown" : "progress__bar"}
        style={{ width: clamped === null ? undefined : `${clamped}%` }}
      />
    </div>
  );
}
