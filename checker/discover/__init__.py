"""Option discovery: the forms in which a student wrote each option, found and applied."""
