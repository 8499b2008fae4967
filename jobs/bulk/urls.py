from rest_framework.routers import SimpleRouter

from jobs.bulk.views import MigrationViewSet

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("migrations", MigrationViewSet, basename="migration")

urlpatterns = router.urls
