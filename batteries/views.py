def home_panel_context(request):
    return None
