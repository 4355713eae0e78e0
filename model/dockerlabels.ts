/** The docker provider takes labels as a list of {label, value}; sorted so diffs stay stable. */
export function toDockerLabels(labels: Record<string, string>): { label: string; value: string }[] {
    return Object.keys(labels).sort().map((label) => ({ label, value: labels[label] }));
}
