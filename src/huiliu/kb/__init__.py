"""Knowledge base: categories, articles, Chinese-aware search, recommendations, quick replies."""
