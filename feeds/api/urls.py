from rest_framework.routers import SimpleRouter

from feeds.api.views import IcsFeedViewSet

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("feeds", IcsFeedViewSet, basename="ics-feed")

urlpatterns = router.urls
