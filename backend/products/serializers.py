from django.db.models import Value
from django.db.models.functions import Lower
from rest_framework import serializers

from .models import Product
from .services import duplicate_sku_message


class ProductSerializer(serializers.ModelSerializer[Product]):
    class Meta:
        model = Product
        fields = ["id", "name", "sku", "description", "active", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_sku(self, value: str) -> str:
        taken = Product.objects.filter(sku_key=Lower(Value(value)))
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(duplicate_sku_message(value))
        return value
