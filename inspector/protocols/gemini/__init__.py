"""Google Gemini `streamGenerateContent?alt=sse` (Gemini API and Vertex AI): models, rules, checker, assembly."""
