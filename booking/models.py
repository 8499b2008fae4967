# Models arrive with their issues; the app exists so the layout is fixed from day one.
