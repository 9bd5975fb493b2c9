"""Fields of the `aws_cloudtrail` source (the cloudtrail plugin's).

One table, as upstream lists them: `ct.*` for the CloudTrail record itself, then the service-specific
`s3.*`, `ec2.*`, `ecr.*` and `iam.*` fields read from the record's request, response and additional data.
Values are extracted by `stages/plugins/cloudtrail/fields.py`.
"""

from __future__ import annotations

from rules.fields.base import FieldClass, FieldType
from rules.fields.plugin import plugin_classes
from rules.fields.table import row

SOURCE = "aws_cloudtrail"

S, U = FieldType.CHARBUF, FieldType.UINT64


def _ct(name: str, description: str, flags: str = "") -> tuple:
    return (f"ct.{name}", S, description, flags)


_REQUEST_KEYS = (
    ("availabilityzone", "The availability zone named in the request (requestParameters.availabilityZone)."),
    ("cluster", "The cluster named in the request (requestParameters.cluster)."),
    ("functionname", "The Lambda function named in the request (requestParameters.functionName)."),
    ("groupname", "The group named in the request (requestParameters.groupName)."),
    ("host", "The host named in the request (requestParameters.Host)."),
    ("name", "The name of the entity the request acts on (requestParameters.name)."),
    ("policy", "The policy sent with the request (requestParameters.policy)."),
    ("reason", "The reason given in the request (requestParameters.reason)."),
    ("target", "The target named in the request (requestParameters.target)."),
    ("serialnumber", "The device serial number in the request (requestParameters.serialNumber)."),
    ("servicename", "The service named in the request (requestParameters.serviceName)."),
    ("subnetid", "The subnet named in the request (requestParameters.subnetId)."),
    ("taskdefinition", "The task definition named in the request (requestParameters.taskDefinition)."),
    ("username", "The user name given in the request (requestParameters.userName)."),
    ("documentname", "The document named in the request (requestParameters.documentName)."),
)

_ROWS = (
    _ct("id", "Unique ID of the CloudTrail event (eventID)."),
    _ct("name", "Name of the API call or action (eventName)."),
    _ct("src", "Service that received the request, e.g. ec2.amazonaws.com (eventSource)."),
    _ct("region", "AWS region the request went to (awsRegion)."),
    _ct("srcip", "IP address the request came from (sourceIPAddress)."),
    _ct("useragent", "User agent of the caller (userAgent)."),
    _ct("time", "Event time as CloudTrail wrote it (eventTime)."),
    _ct("shortsrc", "eventSource without its trailing .amazonaws.com."),
    _ct("error", "Error code of a failed call (errorCode); absent when the call succeeded."),
    _ct("errormessage", "Error message of a failed call (errorMessage); absent when the call succeeded."),
    _ct("user", "Who made the call: the user name, the invoking service, or the role of an assumed-role "
                "session, depending on userIdentity.type."),
    _ct("originaluser", "The caller's own name: for an assumed role the session name (from the ARN or "
                        "principal ID), otherwise userIdentity.userName."),
    _ct("user.accountid", "Account of the caller (userIdentity.accountId, else recipientAccountId)."),
    _ct("user.identitytype", "Kind of identity of the caller: Root, IAMUser, AssumedRole, AWSService..."),
    _ct("user.principalid", "Unique identifier of the caller (userIdentity.principalId)."),
    _ct("user.arn", "ARN of the caller (userIdentity.arn)."),
    _ct("request", "All request parameters, as JSON text."),
    _ct("response", "All response elements, as JSON text."),
    _ct("additionaleventdata", "All additional event data, as JSON text."),
    *(_ct(f"request.{key}", text) for key, text in _REQUEST_KEYS),
    _ct("response.subnetid", "The subnet in the response (responseElements.subnetId)."),
    _ct("response.reservationid", "The reservation in the response (responseElements.reservationId)."),
    _ct("info", "One-line summary: who, from where, read or write, which call, and S3 details when known."),
    _ct("managementevent", "\"true\" for a management event, \"false\" otherwise (managementEvent)."),
    _ct("readonly", "\"true\" if the call only reads, \"false\" if it changes something (readOnly)."),
    _ct("sessioncredentialfromconsole", "\"true\" if the call came from a console session "
                                        "(sessionCredentialFromConsole)."),
    _ct("requestid", "ID of the request (requestID)."),
    _ct("eventtype", "Kind of record: AwsApiCall, AwsServiceEvent, AwsConsoleSignIn... (eventType)."),
    _ct("apiversion", "API version of an AwsApiCall (apiVersion)."),
    _ct("recipientaccountid", "Account that received the event (recipientAccountId)."),
    _ct("sharedeventid", "ID shared by the copies of an event delivered to several accounts (sharedEventID)."),
    _ct("vpcendpointid", "VPC endpoint the request went through (vpcEndpointId)."),
    _ct("eventcategory", "Category of the event, as LookupEvents uses it (eventCategory)."),
    _ct("resources", "The resources the event touched, each as JSON, comma-separated."),
    _ct("serviceeventdetails", "What triggered a service event and its result (serviceEventDetails)."),
    _ct("edgedevicedetails", "The edge devices a request targets (edgeDeviceDetails)."),
    _ct("addendum.reason", "Why the event or part of it was delivered late (addendum.reason)."),
    _ct("addendum.updatedfields", "Record fields the addendum updates (addendum.updatedFields)."),
    _ct("addendum.originalrequestid", "Request ID of the original event (addendum.originalRequestID)."),
    _ct("addendum.originaleventid", "Event ID of the original event (addendum.originalEventID)."),
    _ct("tlsdetails.tlsversion", "TLS version of the request (tlsDetails.tlsVersion)."),
    _ct("tlsdetails.ciphersuite", "TLS cipher suite of the request (tlsDetails.cipherSuite)."),
    _ct("tlsdetails.clientprovidedhostheader", "Host name the client asked for (tlsDetails.clientProvidedHostHeader)."),
    ("s3.bucket", S, "Bucket of an S3 call (requestParameters.bucketName).", ""),
    ("s3.key", S, "Object key of an S3 call (requestParameters.key).", ""),
    ("s3.uri", S, "s3://bucket/key of an S3 call, when both are known.", ""),
    ("s3.bytes", U, "Bytes uploaded plus bytes downloaded by an S3 call.", ""),
    ("s3.bytes.in", U, "Bytes uploaded by an S3 call (additionalEventData.bytesTransferredIn).", ""),
    ("s3.bytes.out", U, "Bytes downloaded by an S3 call (additionalEventData.bytesTransferredOut).", ""),
    ("s3.cnt.get", U, "1 for a GetObject call, absent otherwise.", ""),
    ("s3.cnt.put", U, "1 for a PutObject call, absent otherwise.", ""),
    ("s3.cnt.other", U, "1 for any call other than GetObject and PutObject, absent for those two.", ""),
    ("ec2.name", S, "Name tag of the EC2 instances a request creates.", ""),
    ("ec2.imageids", S, "IDs of the machine images (AMIs) of the instances in the response, else of the image "
                        + "the request names.", "list arg? index"),
    ("ec2.imageid", S, "First of ec2.imageids.", "dep"),
    ("ecr.repository", S, "ECR repository named in the request (requestParameters.repositoryName).", ""),
    ("ecr.imagetag", S, "Image tag named in the request (requestParameters.imageTag).", ""),
    ("iam.role", S, "IAM role named in the request (requestParameters.roleName).", ""),
    ("iam.policy", S, "IAM policy named in the request (requestParameters.policyName).", ""),
)

CLOUDTRAIL_FIELDS = FieldClass(
    "cloudtrail", SOURCE, "Fields of AWS CloudTrail records (the cloudtrail plugin's).",
    tuple(row(name, type_, text, flags, source=SOURCE) for name, type_, text, flags in _ROWS),
)

CLASSES: tuple[FieldClass, ...] = (*plugin_classes(SOURCE), CLOUDTRAIL_FIELDS)
