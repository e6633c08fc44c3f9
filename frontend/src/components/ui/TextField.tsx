import { useId, type InputHTMLAttributes, type TextareaHTMLAttributes } from "react";

interface Common {
  label: string;
  errors?: string[] | undefined;
  hint?: string;
}

type InputProps = Common & InputHTMLAttributes<HTMLInputElement> & { multiline?: false };
type AreaProps = Common & TextareaHTMLAttributes<HTMLTextAreaElement> & { multiline: true };

/** A labelled input (or textarea) with its hint and its errors tied to it for screen readers. */
export function TextField(props: InputProps | AreaProps) {
  const id = useId();
  const { label, errors, hint, multiline, className, ...rest } = props;
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = errors?.length ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ") || undefined;
  const common = {
    id,
    "aria-invalid": errors?.length ? true : undefined,
    "aria-describedby": describedBy,
    className: "input",
  };
  return (
    <div className={["field", className].filter(Boolean).join(" ")}>
      <label htmlFor={id} className="field__label">
        {label}
      </label>
      {multiline ? (
        <textarea {...common} {...(rest as TextareaHTMLAttributes<HTMLTextAreaElement>)} />
      ) : (
        <input {...common} {...(rest as InputHTMLAttributes<HTMLInputElement>)} />
      )}
      {hint && (
        <p id={hintId} className="field__hint">
          {hint}
        </p>
      )}
      {errorId && (
        <p id={errorId} className="field__error">
          {errors?.join(" ")}
        </p>
      )}
    </div>
  );
}
