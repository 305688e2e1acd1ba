"""The public H5 form: form definitions, submissions with photos, and the customer's progress page."""
