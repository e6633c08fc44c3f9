export { Button } from "./Button";
export { ConfirmDialog } from "./ConfirmDialog";
export { CopyButton } from "./CopyButton";
export { Dialog } from "./Dialog";
export { ErrorMessage, errorText } from "./ErrorMessage";
export { NoticesProvider, useNotify } from "./Notices";
export { ProgressBar } from "./ProgressBar";
export { Switch } from "./Switch";
export { TextField } from "./TextField";
