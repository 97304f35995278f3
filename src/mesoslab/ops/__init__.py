"""What both front ends do: bring a lab up, read its status, verify and record, catch up,
dev check, check prerequisites. The CLI and the TUI call these; nothing here renders."""
