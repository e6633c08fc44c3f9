export interface SwitchProps {
  checked: boolean;
  onChange: (checked: boolean) => void;
  label: string;
  disabled?: boolean;
  /** Show the label beside the switch (otherwise it is for screen readers only). */
  showLabel?: boolean;
}

/** An on/off switch: a button with role="switch", operated with Space or Enter. */
export function Switch({ checked, onChange, label, disabled, showLabel = false }: SwitchProps) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={checked}
      aria-label={showLabel ? undefined : label}
      className="switch"
      disabled={disabled}
      onClick={() => onChange(!checked)}
    >
      <span className="switch__track" aria-hidden="true">
        <span className="switch__thumb" />
      </span>
      {showLabel ? <span>{label}</span> : null}
    </button>
  );
}
