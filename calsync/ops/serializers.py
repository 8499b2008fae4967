"""API shapes of the health probes."""

from __future__ import annotations

from rest_framework import serializers


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "error"])
    detail = serializers.CharField(required=False, help_text="Present when status is error.")


class ProbeSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    latency_ms = serializers.FloatField(required=False)
    error = serializers.CharField(required=False)


class DatabaseProbeSerializer(ProbeSerializer):
    vendor = serializers.CharField()


class BrokerProbeSerializer(ProbeSerializer):
    url = serializers.CharField(help_text="Broker URL without its password.")


class HeartbeatProbeSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="A process of this kind was seen within the staleness window.")
    last_seen = serializers.DateTimeField(allow_null=True)
    age_seconds = serializers.FloatField(allow_null=True)
    alive = serializers.IntegerField(help_text="Processes of this kind seen within the staleness window.")
    stale_after_seconds = serializers.IntegerField()
    error = serializers.CharField(required=False)


class DetailedHealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "error"])
    database = DatabaseProbeSerializer()
    broker = BrokerProbeSerializer()
    worker = HeartbeatProbeSerializer()
    beat = HeartbeatProbeSerializer()
